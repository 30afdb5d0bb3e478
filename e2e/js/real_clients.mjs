// Filecoin clients nobody in this project wrote, driven against our chain node by
// e2e/tests/real_clients.rs:
//   - @filecoin-shipyard/lotus-client-rpc with the published Lotus schema
//     (@filecoin-shipyard/lotus-client-schema, mainnet.fullNode) over HTTP and WebSocket;
//   - @zondax/filecoin-signing-tools (its WASM build) signing a transfer that goes to MpoolPush.
//
// Usage (the node URL is the base, e.g. http://127.0.0.1:3453; /rpc/v1 is appended):
//   node real_clients.mjs read     <node-url> <read-token> <min-applies>
//   node real_clients.mjs transfer <node-url> <write-token> <secp256k1-key-base64> <to> <attoFIL>
//
// Each mode checks what it can on its own and prints one `RESULT <json>` line that the Rust
// test compares with its own view of the chain. Any failure exits non-zero with the reason.
import assert from 'node:assert/strict'
import { LotusRPC } from '@filecoin-shipyard/lotus-client-rpc'
import { NodejsProvider } from '@filecoin-shipyard/lotus-client-provider-nodejs'
import { mainnet } from '@filecoin-shipyard/lotus-client-schema'
import signer from '@zondax/filecoin-signing-tools'

const schema = mainnet.fullNode

function client (baseUrl, token, transport) {
  let url = `${baseUrl.replace(/\/$/, '')}/rpc/v1`
  if (transport === 'ws') url = url.replace(/^http/, 'ws')
  return new LotusRPC(new NodejsProvider(url, { token }), { schema })
}

const sameCids = (a, b) => JSON.stringify(a) === JSON.stringify(b)

// Reads the chain with the plain calls, over both transports, and checks they agree.
async function readChain (baseUrl, token) {
  const out = {}
  for (const transport of ['http', 'ws']) {
    const c = client(baseUrl, token, transport)
    const version = await c.version()
    assert.ok(version.APIVersion > 0, `${transport}: Version has no APIVersion: ${JSON.stringify(version)}`)
    const head = await c.chainHead()
    assert.ok(Array.isArray(head.Cids) && head.Cids.length === head.Blocks.length && head.Cids.length > 0,
      `${transport}: ChainHead is not a tipset: ${JSON.stringify(head)}`)
    const again = await c.chainGetTipSet(head.Cids)
    assert.ok(sameCids(again.Cids, head.Cids) && again.Height === head.Height,
      `${transport}: ChainGetTipSet(head.Cids) differs from ChainHead`)
    const block = await c.chainGetBlock(head.Cids[0])
    assert.equal(block.Height, head.Height, `${transport}: ChainGetBlock height`)
    assert.equal(block.Miner, head.Blocks[0].Miner, `${transport}: ChainGetBlock miner`)
    const genesis = await c.chainGetGenesis()
    assert.equal(genesis.Height, 0, `${transport}: ChainGetGenesis height`)
    if (head.Height > 0) {
      const parent = await c.chainGetTipSet(head.Blocks[0].Parents)
      assert.ok(parent.Height < head.Height, `${transport}: parent not below head`)
      const byHeight = await c.chainGetTipSetByHeight(parent.Height, head.Cids)
      assert.ok(sameCids(byHeight.Cids, parent.Cids), `${transport}: ChainGetTipSetByHeight(parent) differs`)
    }
    const network = await c.stateNetworkName()
    assert.ok(typeof network === 'string' && network.length > 0, `${transport}: StateNetworkName`)
    out[transport] = { height: head.Height, cids: head.Cids, genesis: genesis.Cids, network }
    await c.destroy()
  }
  return out
}

// Follows ChainNotify over WebSocket: first the `current` head, then `minApplies` applied tipsets,
// each of which must be fetchable by its key and extend what was seen before.
async function followNotify (baseUrl, token, minApplies) {
  const c = client(baseUrl, token, 'ws')
  const events = []
  let done, failed
  const finished = new Promise((resolve, reject) => { done = resolve; failed = reject })
  const [cancel, opened] = c.chainNotify((changes) => {
    try {
      for (const change of changes) {
        assert.ok(['current', 'apply', 'revert'].includes(change.Type), `unknown change type ${change.Type}`)
        assert.ok(Array.isArray(change.Val.Cids) && change.Val.Cids.length > 0, 'change without a tipset')
        events.push({ type: change.Type, height: change.Val.Height, cids: change.Val.Cids, parents: change.Val.Blocks[0].Parents })
      }
      if (events.filter((e) => e.type === 'apply').length >= minApplies) done()
    } catch (e) { failed(e) }
  })
  await opened
  const timer = setTimeout(() => failed(new Error(`ChainNotify: fewer than ${minApplies} applies in 120 s: ${JSON.stringify(events)}`)), 120000)
  await finished
  clearTimeout(timer)
  await cancel()
  assert.equal(events[0].type, 'current', 'the first ChainNotify change must be `current`')
  // Applied tipsets: heights grow, each one's parents are the previous head (after reverts, the
  // tipset reverted to).
  let tip = events[0]
  for (const e of events.slice(1)) {
    if (e.type === 'revert') {
      assert.ok(sameCids(e.cids, tip.cids), 'revert of a tipset that is not the head')
      tip = { height: null, cids: e.parents }
      continue
    }
    assert.ok(sameCids(e.parents, tip.cids), `applied tipset at ${e.height} does not extend the head ${JSON.stringify(tip.cids)}`)
    if (tip.height !== null) assert.ok(e.height > tip.height, `apply at ${e.height} after ${tip.height}`)
    const fetched = await c.chainGetTipSet(e.cids)
    assert.equal(fetched.Height, e.height, 'ChainGetTipSet of an applied tipset')
    tip = e
  }
  await c.destroy()
  return events.map(({ type, height, cids }) => ({ type, height, cids }))
}

async function transfer (baseUrl, token, keyBase64, to, amount) {
  const key = signer.keyRecover(keyBase64, true)
  const from = key.address
  const c = client(baseUrl, token, 'ws')
  const before = await c.walletBalance(from)
  const nonce = await c.mpoolGetNonce(from)
  const unsigned = {
    Version: 0,
    To: to,
    From: from,
    Nonce: nonce,
    Value: amount,
    GasLimit: 0,
    GasFeeCap: '0',
    GasPremium: '0',
    Method: 0,
    Params: ''
  }
  const estimated = await c.gasEstimateMessageGas(unsigned, { MaxFee: '0' }, [])
  assert.ok(estimated.GasLimit > 0, `GasEstimateMessageGas gave no gas limit: ${JSON.stringify(estimated)}`)
  // Zondax signs the Lotus-JSON message with its own CBOR encoding and secp256k1.
  const signed = signer.transactionSignLotus({
    To: estimated.To,
    From: estimated.From,
    Nonce: estimated.Nonce,
    Value: estimated.Value,
    GasLimit: estimated.GasLimit,
    GasFeeCap: estimated.GasFeeCap,
    GasPremium: estimated.GasPremium,
    Method: estimated.Method,
    Params: estimated.Params || ''
  }, key.private_base64)
  assert.equal(signed.Signature.Type, 1, 'a secp256k1 signature')
  const cid = await c.mpoolPush(signed)
  assert.ok(cid && typeof cid['/'] === 'string', `MpoolPush returned no CID: ${JSON.stringify(cid)}`)
  // The CID Zondax computes for the signed message must be the node's.
  const localCid = signer.getCid(signed)
  const lookup = await c.stateWaitMsg(cid, 1, -1, true)
  assert.equal(lookup.Receipt.ExitCode, 0, `receipt: ${JSON.stringify(lookup.Receipt)}`)
  const after = await c.walletBalance(from)
  const spent = BigInt(before) - BigInt(after)
  const gasCost = BigInt(lookup.Receipt.GasUsed) * BigInt(estimated.GasFeeCap)
  assert.ok(spent >= BigInt(amount) && spent <= BigInt(amount) + gasCost,
    `the sender's balance fell by ${spent}, not amount ${amount} plus at most gas ${gasCost}`)
  await c.destroy()
  return {
    from,
    nonce,
    cid: cid['/'],
    zondaxCid: localCid,
    height: lookup.Height,
    tipset: lookup.TipSet,
    exitCode: lookup.Receipt.ExitCode,
    gasUsed: lookup.Receipt.GasUsed,
    balanceBefore: before,
    balanceAfter: after
  }
}

const [mode, baseUrl, token, ...rest] = process.argv.slice(2)
try {
  let result
  if (mode === 'read') {
    const minApplies = Number(rest[0] ?? 3)
    const chain = await readChain(baseUrl, token)
    const notify = await followNotify(baseUrl, token, minApplies)
    result = { chain, notify }
  } else if (mode === 'transfer') {
    const [keyBase64, to, amount] = rest
    result = await transfer(baseUrl, token, keyBase64, to, amount)
  } else {
    throw new Error(`unknown mode ${mode}; use read or transfer`)
  }
  console.log(`RESULT ${JSON.stringify(result)}`)
  process.exit(0)
} catch (e) {
  console.error(`FAILED: ${e.stack || e}`)
  process.exit(1)
}
