// Prints the CID that IPFS's reference JavaScript importer gives a file, with the importer's
// defaults (CIDv1, raw leaves, 256 KiB fixed-size chunks, balanced DAG of at most 174 links per
// node, sha2-256). The Rust tests of groundwork-storage-net compare their CIDs against this output.
//
// Usage: node cid.mjs FILE [FILE ...]   (one CID per line, in argument order)
// Install once: npm ci --prefix crates/storage-net/tests/js
import { createReadStream } from 'node:fs'
import { BlackHoleBlockstore } from 'blockstore-core/black-hole'
import { importer } from 'ipfs-unixfs-importer'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: node cid.mjs FILE [FILE ...]')
  process.exit(2)
}

const blockstore = new BlackHoleBlockstore()
for (const path of files) {
  let root
  // No options: the defaults are what we check ourselves against.
  for await (const entry of importer([{ content: createReadStream(path) }], blockstore)) {
    root = entry
  }
  if (root === undefined) {
    console.error(`importer gave no entry for ${path}`)
    process.exit(1)
  }
  console.log(root.cid.toString())
}
