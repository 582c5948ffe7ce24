"""Container networking (ARCHITECTURE.md L4). Today: network namespaces that berthd makes
for containers (:mod:`berth.network.netns`); bridges, IPAM, NAT and DNS come with the
networking issue."""
