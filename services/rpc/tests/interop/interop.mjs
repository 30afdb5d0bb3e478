// Drives a venus-rpc sample server with the Lotus JS client, which speaks go-jsonrpc's wire
// format (positional params, channel ids, xrpc.ch.val / xrpc.ch.close / xrpc.cancel).
// Usage: node interop.mjs <http-url> <token>   (the Rust test starts the server)
import assert from 'node:assert/strict'
import { LotusRPC } from '@filecoin-shipyard/lotus-client-rpc'
import { NodejsProvider } from '@filecoin-shipyard/lotus-client-provider-nodejs'

const [httpUrl, token, readToken] = process.argv.slice(2)
const schema = {
  methods: {
    Version: {},
    Add: {},
    Echo: {},
    WhoAmI: {},
    Fail: {},
    AdminThing: {},
    ChainNotify: { subscription: true }
  }
}

async function exercise (transport, url, tok) {
  const client = new LotusRPC(new NodejsProvider(url, { token: tok }), { schema })
  const version = await client.version()
  assert.equal(version.Version, 'venus-rpc-sample')
  assert.equal(await client.add(40, 2), 42)
  const payload = { Cid: { '/': 'bafy2bzaceexample' }, Bytes: 'AAEC', N: [1, 2, 3] }
  assert.deepEqual(await client.echo(payload), payload)
  assert.equal(await client.whoAmI(), 'interop-user')
  await assert.rejects(client.fail(), /boom/)
  console.log(`${transport}: calls ok`)
  await client.destroy()
}

async function permissionDenied (url, tok) {
  const client = new LotusRPC(new NodejsProvider(url, { token: tok }), { schema })
  await assert.rejects(client.adminThing(), (err) => {
    assert.equal(err.message, "missing permission to invoke 'AdminThing'  (need 'admin')")
    return true
  })
  console.log('ws: permission error ok')
  await client.destroy()
}

async function subscription (url, tok) {
  const client = new LotusRPC(new NodejsProvider(url, { token: tok }), { schema })
  const heights = []
  let done
  const enough = new Promise((resolve) => { done = resolve })
  const [cancel, opened] = client.chainNotify((changes) => {
    for (const change of changes) heights.push(change.Val.Height)
    if (heights.length >= 3) done()
  })
  await opened
  await enough
  // Cancelling sends xrpc.cancel; it resolves when the server answers with xrpc.ch.close.
  await cancel()
  assert.deepEqual(heights.slice(0, 3), [0, 1, 2])
  console.log('ws: subscription ok', JSON.stringify(heights.slice(0, 3)))
  await client.destroy()
}

const wsUrl = httpUrl.replace(/^http:/, 'ws:')
await exercise('http', httpUrl, token)
await exercise('ws', wsUrl, token)
await permissionDenied(wsUrl, readToken)
await subscription(wsUrl, token)
console.log('INTEROP OK')
process.exit(0)
