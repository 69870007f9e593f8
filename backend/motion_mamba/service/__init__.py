"""The ZeroMQ generation service: `protocol` (the one wire schema), `server`, `jobs`, `cache`, `client`, `auth`,
`workers` (scale-out). See docs/protocol.md."""
