/// Decides whether an address libcurl is about to connect to may be probed. Reported URLs are hostile:
/// a name (or a redirect) pointing at 127.0.0.1, 10.0.0.5 or 169.254.169.254 must not turn the daemon into
/// a scanner of the network it runs in.
public enum AddressPolicy {
  /// IPv4 in network byte order (the 4 bytes as they appear in the address).
  public static func isPrivate(ipv4 b: (UInt8, UInt8, UInt8, UInt8)) -> Bool {
    switch (b.0, b.1) {
    case (0, _): return true  // "this network"
    case (10, _): return true
    case (100, 64...127): return true  // carrier-grade NAT
    case (127, _): return true
    case (169, 254): return true  // link-local, cloud metadata
    case (172, 16...31): return true
    case (192, 168): return true
    case (192, 0) where b.2 == 0: return true  // IETF protocol assignments
    case (198, 18...19): return true  // benchmarking
    case (224...255, _): return true  // multicast, reserved, broadcast
    default: return false
    }
  }

  /// IPv6, 16 bytes in network order.
  public static func isPrivate(ipv6 b: [UInt8]) -> Bool {
    guard b.count == 16 else { return true }
    if b[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
    if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return true }  // fe80::/10 link-local
    if (b[0] & 0xfe) == 0xfc { return true }  // fc00::/7 unique local
    if b[0] == 0xff { return true }  // multicast
    // IPv4-mapped ::ffff:a.b.c.d and the NAT64 well-known prefix 64:ff9b::/96 carry an IPv4 address.
    if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
      return isPrivate(ipv4: (b[12], b[13], b[14], b[15]))
    }
    if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
      return isPrivate(ipv4: (b[12], b[13], b[14], b[15]))
    }
    return false
  }
}
