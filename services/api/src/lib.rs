//! Every venus API declared once: full node, gateway, wallet, prover
