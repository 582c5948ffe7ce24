"""Container networking (ARCHITECTURE.md L4), the pieces the networking issue wires into
berthd:

- :mod:`berth.network.netns` — the network namespaces berthd makes for containers,
  bind-mounted under the exec root and handed to the runtime by path;
- :mod:`berth.network.ipam` — subnets and addresses for bridge networks, persisted in
  berth.db, pools chosen clear of the host's routes;
- :mod:`berth.network.nft` — berth's nftables firewall as data (NAT, isolation, published
  ports), applied atomically;
- :mod:`berth.network.links` and :mod:`berth.network.tc` — bridges, veth endpoints,
  sysctls and per-container bandwidth limits through pyroute2 (netlink).
"""
