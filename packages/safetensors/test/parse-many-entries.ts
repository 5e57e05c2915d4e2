/**
 * Run in a child process by header.test.ts under a small heap: builds a file of N one-element F32
 * tensors in memory, parses its header, and prints the number of entries.
 *   node --max-old-space-size=160 --import tsx parse-many-entries.ts 200000
 */
import { parseHeader } from '../src/header.js';

const n = Number(process.argv[2]);
const parts: string[] = [];
for (let i = 0; i < n; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`);
const json = Buffer.from(`{${parts.join(',')}}`);
parts.length = 0;
const file = new Uint8Array(8 + json.length + 4 * n);
new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
file.set(json, 8);
console.log(parseHeader(file).tensors.length);
