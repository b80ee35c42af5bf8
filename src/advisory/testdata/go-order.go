// Writes go-order.tsv: each Go module version with its rank in golang.org/x/mod/semver's
// order (Compare; "+incompatible" and other build metadata do not change precedence,
// pseudo-versions are prereleases). Run with Debian's golang-golang-x-mod-dev in GOPATH
// mode: GO111MODULE=off GOPATH=/usr/share/gocode go run go-order.go > go-order.tsv
package main

import (
	"fmt"
	"sort"

	"golang.org/x/mod/semver"
)

func main() {
	bases := []string{"v0.0.0", "v0.0.1", "v0.1.0", "v1.0.0", "v1.2.3", "v1.2.4", "v1.10.0", "v2.0.0", "v2.1.0", "v17.0.0"}
	suffixes := []string{
		"", "-pre", "-pre.1", "-rc.1", "-0", "-alpha.beta",
		"-20210101000000-abcdefabcdef", "-20220630000000-0123456789ab",
		"-0.20210101000000-abcdefabcdef", "-0.20220630000000-0123456789ab",
		"-pre.0.20210101000000-abcdefabcdef", "-rc.1.0.20220630000000-0123456789ab",
		"+incompatible", "-rc.1+incompatible",
	}
	var versions []string
	for _, b := range bases {
		for _, s := range suffixes {
			v := b + s
			if semver.IsValid(v) {
				versions = append(versions, v)
			}
		}
	}
	sort.SliceStable(versions, func(i, j int) bool { return semver.Compare(versions[i], versions[j]) < 0 })
	rank := 0
	for i, v := range versions {
		if i > 0 && semver.Compare(versions[i-1], v) != 0 {
			rank++
		}
		fmt.Printf("%d\t%s\n", rank, v)
	}
}
