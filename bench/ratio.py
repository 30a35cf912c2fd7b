"""Prints gated vs ungated throughput for one case: name, gated rates, bare rates, p99s."""
import sys

name, gated, bare, gated_p99, bare_p99 = sys.argv[1:6]
gated = sorted(float(x) for x in gated.split())
bare = sorted(float(x) for x in bare.split())
g, b = max(gated), max(bare)
print(f"   {name}: gated {g:.0f} req/s (p99 {gated_p99}), without gateway {b:.0f} req/s "
      f"(p99 {bare_p99}); gated = {100 * g / b:.0f}% of ungated, cost {100 * (1 - g / b):.1f}%")
