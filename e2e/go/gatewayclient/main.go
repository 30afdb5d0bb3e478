// gatewayclient drives our venus-gateway with the original Go clients: venus-shared's
// gateway v2 and v1 clients (`NewIGatewayRPC`) and its chain v1 client (`NewFullNodeRPC`),
// built with go-jsonrpc as sophon-gateway and droplet build them. It
//
//   - registers as a miner's market (`ListenMarketEvent`, the go-jsonrpc channel flow over
//     WebSocket) and answers `SectorsUnsealPiece` / `IsUnsealed` events over
//     `ResponseMarketEvent`, decoding every payload into venus-shared's types;
//   - calls, as an admin chain service, `ListMarketConnectionsState`, `SectorsUnsealPiece` (v2),
//     `IsUnsealed` (v1), `ListWalletInfoByWallet`, `WalletHas` and `WalletSign` (v1 and v2; the
//     signed bytes are a message CID with the message CBOR as `MsgMeta.Extra`, as venus-messager
//     signs), `RegisterReverse` and a chain call through the gateway's header proxy;
//   - decodes every answer into venus-shared's types, and the structured ones a second time
//     from a plain JSON-RPC POST with unknown fields refused (encoding/json would otherwise drop
//     a misnamed field silently and leave a zero value).
//
// It prints one JSON document on stdout (the decoded answers re-encoded by venus-shared's own
// types) for the calling test to check, and exits 1 with the reason on stderr at the first
// call that fails or answers with an unexpected shape.
//
//	gatewayclient -gateway 127.0.0.1:45132 -admin-token T -market-token T -miner t01000 \
//	  -piece baga... -account u -wallet t1... -node /ip4/127.0.0.1/tcp/3453
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/specs-storage/storage"
	"github.com/ipfs/go-cid"

	chain "github.com/filecoin-project/venus/venus-shared/api/chain/v1"
	gwv1 "github.com/filecoin-project/venus/venus-shared/api/gateway/v1"
	gwv2 "github.com/filecoin-project/venus/venus-shared/api/gateway/v2"
	"github.com/filecoin-project/venus/venus-shared/types"
	gtypes "github.com/filecoin-project/venus/venus-shared/types/gateway"
)

type options struct {
	gateway, adminToken, marketToken, account, node string
	miner, wallet                                  address.Address
	piece                                          cid.Cid
}

// marketEvent is one request the market side received, its payload decoded.
type marketEvent struct {
	Method  string
	Payload any
}

// isUnsealRequest is the payload the v1 `IsUnsealed` call travels in (venus-shared before
// v1.11 named it IsUnsealRequest; the type is gone from v1.16 while the v1 client kept the call).
type isUnsealRequest struct {
	PieceCid cid.Cid
	Miner    address.Address
	Sid      abi.SectorNumber
	Offset   types.PaddedByteIndex
	Size     abi.PaddedPieceSize
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gatewayclient:", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	var miner, wallet, piece string
	flag.StringVar(&o.gateway, "gateway", "", "gateway host:port")
	flag.StringVar(&o.adminToken, "admin-token", "", "venus-auth admin token (the chain service's)")
	flag.StringVar(&o.marketToken, "market-token", "", "token of the user the miner is bound to")
	flag.StringVar(&o.account, "account", "", "the wallet's account")
	flag.StringVar(&o.node, "node", "", "the node's API multiaddr (the proxy's target)")
	flag.StringVar(&miner, "miner", "", "miner address")
	flag.StringVar(&wallet, "wallet", "", "an address the account's wallet holds")
	flag.StringVar(&piece, "piece", "", "a piece CID")
	flag.Parse()
	var err error
	if o.miner, err = address.NewFromString(miner); err != nil {
		return fmt.Errorf("-miner: %w", err)
	}
	if o.wallet, err = address.NewFromString(wallet); err != nil {
		return fmt.Errorf("-wallet: %w", err)
	}
	if o.piece, err = cid.Decode(piece); err != nil {
		return fmt.Errorf("-piece: %w", err)
	}
	if o.gateway == "" || o.adminToken == "" || o.marketToken == "" || o.account == "" || o.node == "" {
		return fmt.Errorf("-gateway, -admin-token, -market-token, -account and -node are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	out := map[string]any{}
	if err := market(ctx, o, out); err != nil {
		return err
	}
	if err := wallets(ctx, o, out); err != nil {
		return err
	}
	if err := proxy(ctx, o, out); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func bearer(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

// strictCall posts one JSON-RPC call to /rpc/v<ver> and decodes its result into `result`
// with unknown fields refused.
func strictCall(ctx context.Context, o options, ver int, method string, params []any, result any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "Gateway." + method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://%s/rpc/v%d", o.gateway, ver), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = bearer(o.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var envelope struct {
		Result json.RawMessage
		Error  *struct{ Message string }
	}
	if err := json.Unmarshal(raw, &envelope); err != nil {
		return fmt.Errorf("%s: %w: %s", method, err, raw)
	}
	if envelope.Error != nil {
		return fmt.Errorf("%s: %s", method, envelope.Error.Message)
	}
	dec := json.NewDecoder(bytes.NewReader(envelope.Result))
	dec.DisallowUnknownFields()
	if err := dec.Decode(result); err != nil {
		return fmt.Errorf("%s answered a shape venus-shared does not know: %w: %s", method, err, envelope.Result)
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// market registers as the miner's market with the original client and asks the gateway, as an
// admin, for the connection list, an unseal and an is-unsealed query.
func market(ctx context.Context, o options, out map[string]any) error {
	ws := "ws://" + o.gateway
	side, closeSide, err := gwv2.NewIGatewayRPC(ctx, ws, bearer(o.marketToken))
	if err != nil {
		return fmt.Errorf("market side client: %w", err)
	}
	defer closeSide()
	events, err := side.ListenMarketEvent(ctx, &gtypes.MarketRegisterPolicy{Miner: o.miner})
	if err != nil {
		return fmt.Errorf("ListenMarketEvent: %w", err)
	}
	var (
		mu       sync.Mutex
		received []marketEvent
		failure  error
	)
	connected := make(chan struct{})
	go func() {
		for ev := range events {
			var payload any
			var answer []byte
			var err error
			switch ev.Method {
			case "InitConnect":
				var c gtypes.ConnectedCompleted
				if err = strictUnmarshal(ev.Payload, &c); err == nil {
					payload = c
					close(connected)
				}
			case "SectorsUnsealPiece":
				var r gtypes.UnsealRequest
				if err = strictUnmarshal(ev.Payload, &r); err == nil {
					payload = r
					answer, err = json.Marshal(gtypes.UnsealStateFinished)
				}
			case "IsUnsealed":
				var r isUnsealRequest
				if err = strictUnmarshal(ev.Payload, &r); err == nil {
					payload = r
					answer, err = json.Marshal(true)
				}
			default:
				err = fmt.Errorf("unexpected market event %q", ev.Method)
			}
			mu.Lock()
			received = append(received, marketEvent{ev.Method, payload})
			if err != nil && failure == nil {
				failure = fmt.Errorf("market event %s: %w (payload %s)", ev.Method, err, ev.Payload)
			}
			mu.Unlock()
			if answer != nil {
				if err := side.ResponseMarketEvent(ctx, &gtypes.ResponseEvent{ID: ev.ID, Payload: answer}); err != nil {
					mu.Lock()
					failure = fmt.Errorf("ResponseMarketEvent: %w", err)
					mu.Unlock()
				}
			}
		}
	}()
	select {
	case <-connected:
	case <-ctx.Done():
		return fmt.Errorf("no InitConnect event after ListenMarketEvent")
	}

	admin, closeAdmin, err := gwv2.NewIGatewayRPC(ctx, ws, bearer(o.adminToken))
	if err != nil {
		return fmt.Errorf("admin v2 client: %w", err)
	}
	defer closeAdmin()
	adminV1, closeV1, err := gwv1.NewIGatewayRPC(ctx, ws, bearer(o.adminToken))
	if err != nil {
		return fmt.Errorf("admin v1 client: %w", err)
	}
	defer closeV1()

	states, err := admin.ListMarketConnectionsState(ctx)
	if err != nil {
		return fmt.Errorf("ListMarketConnectionsState: %w", err)
	}
	var strict []gtypes.MarketConnectionState
	if err := strictCall(ctx, o, 2, "ListMarketConnectionsState", []any{}, &strict); err != nil {
		return err
	}
	found := false
	for _, s := range strict {
		if s.Addr == o.miner {
			found = s.Conn.ConnectionCount >= 1 && len(s.Conn.Connections) == s.Conn.ConnectionCount
			for _, c := range s.Conn.Connections {
				found = found && c.ChannelID != (types.UUID{}) && c.IP != "" && !c.CreateTime.IsZero()
			}
		}
	}
	if !found {
		return fmt.Errorf("ListMarketConnectionsState: no complete entry for %s: %+v", o.miner, strict)
	}
	out["ListMarketConnectionsState"] = states

	state, err := admin.SectorsUnsealPiece(ctx, o.miner, o.piece, 9, 0, 1016, "http://dest/go")
	if err != nil {
		return fmt.Errorf("SectorsUnsealPiece (v2): %w", err)
	}
	out["SectorsUnsealPiece"] = state

	sector := storage.SectorRef{ID: abi.SectorID{Miner: minerID(o.miner), Number: 9}, ProofType: abi.RegisteredSealProof_StackedDrg2KiBV1_1}
	unsealed, err := adminV1.IsUnsealed(ctx, o.miner, o.piece, sector, 0, 1024)
	if err != nil {
		return fmt.Errorf("IsUnsealed (v1): %w", err)
	}
	out["IsUnsealed"] = unsealed

	mu.Lock()
	defer mu.Unlock()
	if failure != nil {
		return failure
	}
	out["MarketEvents"] = received
	return nil
}

func minerID(a address.Address) abi.ActorID {
	id, err := address.IDFromAddress(a)
	if err != nil {
		return 0
	}
	return abi.ActorID(id)
}

// wallets asks for the account's wallet and two signatures of a message CID, v1 and v2.
func wallets(ctx context.Context, o options, out map[string]any) error {
	ws := "ws://" + o.gateway
	v1, closeV1, err := gwv1.NewIGatewayRPC(ctx, ws, bearer(o.adminToken))
	if err != nil {
		return err
	}
	defer closeV1()
	v2, closeV2, err := gwv2.NewIGatewayRPC(ctx, ws, bearer(o.adminToken))
	if err != nil {
		return err
	}
	defer closeV2()

	detail, err := v1.ListWalletInfoByWallet(ctx, o.account)
	if err != nil {
		return fmt.Errorf("ListWalletInfoByWallet: %w", err)
	}
	var strict gtypes.WalletDetail
	if err := strictCall(ctx, o, 1, "ListWalletInfoByWallet", []any{o.account}, &strict); err != nil {
		return err
	}
	holds := false
	for _, c := range strict.ConnectStates {
		for _, a := range c.Addrs {
			holds = holds || a == o.wallet
		}
	}
	if strict.Account != o.account || !holds {
		return fmt.Errorf("ListWalletInfoByWallet(%s): want the account and %s, got %+v", o.account, o.wallet, strict)
	}
	out["ListWalletInfoByWallet"] = detail

	hasV1, err := v1.WalletHas(ctx, o.account, o.wallet)
	if err != nil {
		return fmt.Errorf("WalletHas (v1): %w", err)
	}
	hasV2, err := v2.WalletHas(ctx, o.wallet, []string{o.account})
	if err != nil {
		return fmt.Errorf("WalletHas (v2): %w", err)
	}
	out["WalletHasV1"], out["WalletHasV2"] = hasV1, hasV2

	// A message from the wallet's address, signed as venus-messager signs: its CID, with the
	// message CBOR in MsgMeta.Extra (the wallet checks the two agree).
	msg := &types.Message{
		To: o.wallet, From: o.wallet, Nonce: 7, Value: big.NewInt(1),
		GasLimit: 1_000_000, GasFeeCap: big.NewInt(100), GasPremium: big.NewInt(10),
	}
	c, raw, err := msg.SerializeWithCid()
	if err != nil {
		return err
	}
	meta := types.MsgMeta{Type: types.MTChainMsg, Extra: raw}
	sigV1, err := v1.WalletSign(ctx, o.account, o.wallet, c.Bytes(), meta)
	if err != nil {
		return fmt.Errorf("WalletSign (v1): %w", err)
	}
	sigV2, err := v2.WalletSign(ctx, o.wallet, []string{o.account}, c.Bytes(), meta)
	if err != nil {
		return fmt.Errorf("WalletSign (v2): %w", err)
	}
	for _, s := range []*crypto.Signature{sigV1, sigV2} {
		if s == nil || len(s.Data) == 0 || (s.Type != crypto.SigTypeSecp256k1 && s.Type != crypto.SigTypeBLS) {
			return fmt.Errorf("WalletSign: not a signature: %+v", s)
		}
	}
	out["SignedCid"] = c
	out["WalletSignV1"], out["WalletSignV2"] = sigV1, sigV2
	return nil
}

// proxy calls the node through the gateway with the original chain client: refused while no
// node target is registered, answered once `RegisterReverse` names the node.
func proxy(ctx context.Context, o options, out map[string]any) error {
	ws := "ws://" + o.gateway
	admin, closeAdmin, err := gwv2.NewIGatewayRPC(ctx, ws, bearer(o.adminToken))
	if err != nil {
		return err
	}
	defer closeAdmin()
	if err := admin.RegisterReverse(ctx, gtypes.HostNode, ""); err != nil {
		return fmt.Errorf("RegisterReverse(VENUS, \"\"): %w", err)
	}
	// Over HTTP, so each call is one request the proxy routes on its own.
	node, closeNode, err := chain.NewFullNodeRPC(ctx, "http://"+o.gateway, bearer(o.adminToken))
	if err != nil {
		return err
	}
	defer closeNode()
	// The gateway answers 400 with a plain-text reason (as sophon-gateway); go-jsonrpc's HTTP
	// client reports the status.
	if _, err := node.ChainHead(ctx); err == nil || !strings.Contains(err.Error(), "400") {
		return fmt.Errorf("ChainHead through the gateway without a node target: want the proxy's refusal, got %v", err)
	} else {
		out["ProxyWithoutTarget"] = err.Error()
	}
	if err := admin.RegisterReverse(ctx, gtypes.HostNode, o.node); err != nil {
		return fmt.Errorf("RegisterReverse(VENUS, %s): %w", o.node, err)
	}
	head, err := node.ChainHead(ctx)
	if err != nil {
		return fmt.Errorf("ChainHead through the gateway's proxy: %w", err)
	}
	out["ProxyChainHead"] = map[string]any{"Height": head.Height(), "Cids": head.Cids()}
	return nil
}
