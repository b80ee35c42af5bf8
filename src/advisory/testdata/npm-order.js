// Writes npm-order.tsv: each version with its rank in node-semver's precedence order
// (equal precedence, e.g. differing build metadata, shares a rank).
// Run: node npm-order.js > npm-order.tsv   (with `npm install semver@7` beside it)
const semver = require('semver');
const cores = ['0.0.0', '0.0.1', '0.1.0', '1.0.0', '1.2.3', '1.2.10', '1.10.0', '2.0.0', '10.0.0'];
const pres = ['', '-0', '-1', '-11', '-2', '-alpha', '-alpha.1', '-alpha.beta', '-alpha.0.1', '-beta', '-beta.2', '-beta.11', '-rc.1', '-x.7.z.92', '-0.3.7', '-1a', '-a1', '-20210101000000-abcdefabcdef'];
const builds = ['', '+build', '+001', '+exp.sha.5114f85'];
const versions = [];
for (const c of cores) for (const p of pres) for (const b of builds) {
  if (b && p && (p.length + c.length) % 3) continue; // a sample of build metadata
  versions.push(c + p + b);
}
versions.sort(semver.compare);
let rank = 0;
versions.forEach((v, i) => {
  if (i > 0 && semver.compare(versions[i - 1], v) !== 0) rank++;
  console.log(`${rank}\t${v}`);
});
