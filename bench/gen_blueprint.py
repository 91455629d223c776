"""A blueprint with N owners, shaped like the CDK competitor's stack (one bucket prefix, idle stop).
With a second argument S, split into S independent shard stacks (`stacks:`)."""
import sys

n = int(sys.argv[1])
shards = int(sys.argv[2]) if len(sys.argv) > 2 else 0
print(f"""version: 1
name: bench-{n}
network:
  cidr: 10.20.0.0/16
  zones: 2
data:
  buckets:
    - name: nbsynth-example-data
      read: [datasets/]
lifecycle:
  idle_shutdown: 60""" + (f"""
stacks:
  layout: independent
  shards: {shards}""" if shards else "") + """
notebooks:
  instances:""")
for i in range(1, n + 1):
    print(f"    - owner: user-{i}")
