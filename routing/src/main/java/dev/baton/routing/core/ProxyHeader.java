package dev.baton.routing.core;

import dev.baton.routing.ProxyProtocolVersion;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of the PROXY protocol header Baton writes first on a connection to a server, naming who the server is
 * talking to (<a href="https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt">proxy-protocol.txt</a>). It is here,
 * free of Netty, because the monitor's Connector/J sockets send it as well as the sessions' channels.
 *
 * <p>Both addresses of a header share one family. When the client and the server connection differ (an IPv4 client,
 * Baton reaching the server over IPv6, or the reverse), the IPv4 one is written as its IPv4-mapped IPv6 address
 * ({@code ::ffff:192.0.2.7}), as MariaDB MaxScale does; MariaDB reads that back as the plain IPv4 address.
 */
public final class ProxyHeader {
    /** Version 2's fixed signature. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int V2_LOCAL = 0x20;  // version 2, command LOCAL
    private static final int V2_PROXY = 0x21;  // version 2, command PROXY
    private static final int V2_UNSPEC = 0x00; // family and transport unknown
    private static final int V2_TCP4 = 0x11;   // AF_INET, STREAM
    private static final int V2_TCP6 = 0x21;   // AF_INET6, STREAM

    private ProxyHeader() {
    }

    /**
     * The header saying that the connection Baton opens to {@code destination} carries {@code source}'s traffic. A
     * source or destination that is not a resolved IP address gives the header {@link #local} sends.
     */
    public static byte[] of(ProxyProtocolVersion version, InetSocketAddress source, InetSocketAddress destination) {
        if (source == null || destination == null || source.getAddress() == null || destination.getAddress() == null) {
            return local(version);
        }
        InetAddress from = source.getAddress();
        InetAddress to = destination.getAddress();
        boolean ipv4 = from instanceof Inet4Address && to instanceof Inet4Address;
        byte[] fromBytes = ipv4 ? from.getAddress() : ipv6Bytes(from);
        byte[] toBytes = ipv4 ? to.getAddress() : ipv6Bytes(to);
        return switch (version) {
            case OFF -> throw new IllegalArgumentException("no header is sent when the PROXY protocol is off");
            case V1 -> ("PROXY " + (ipv4 ? "TCP4 " : "TCP6 ") + text(from, ipv4) + " " + text(to, ipv4) + " "
                    + source.getPort() + " " + destination.getPort() + "\r\n").getBytes(StandardCharsets.US_ASCII);
            case V2 -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream(V2_SIGNATURE.length + 4 + 36);
                out.writeBytes(V2_SIGNATURE);
                out.write(V2_PROXY);
                out.write(ipv4 ? V2_TCP4 : V2_TCP6);
                int length = 2 * fromBytes.length + 4;
                out.write(length >> 8);
                out.write(length);
                out.writeBytes(fromBytes);
                out.writeBytes(toBytes);
                out.write(source.getPort() >> 8);
                out.write(source.getPort());
                out.write(destination.getPort() >> 8);
                out.write(destination.getPort());
                yield out.toByteArray();
            }
        };
    }

    /**
     * The header of a connection that carries no one else's traffic: version 1's {@code PROXY UNKNOWN}, version 2's
     * LOCAL command. The server then takes the connection's own peer, Baton, as the client.
     */
    public static byte[] local(ProxyProtocolVersion version) {
        return switch (version) {
            case OFF -> throw new IllegalArgumentException("no header is sent when the PROXY protocol is off");
            case V1 -> "PROXY UNKNOWN\r\n".getBytes(StandardCharsets.US_ASCII);
            case V2 -> {
                byte[] header = new byte[V2_SIGNATURE.length + 4];
                System.arraycopy(V2_SIGNATURE, 0, header, 0, V2_SIGNATURE.length);
                header[12] = V2_LOCAL;
                header[13] = V2_UNSPEC;
                yield header; // length 0
            }
        };
    }

    /** The 16 bytes of an IPv6 address, or of an IPv4 address's IPv4-mapped form. */
    private static byte[] ipv6Bytes(InetAddress address) {
        if (address instanceof Inet4Address) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(address.getAddress(), 0, mapped, 12, 4);
            return mapped;
        }
        return address.getAddress();
    }

    /** An address as version 1 writes it: dotted IPv4, or IPv6 in its RFC 5952 short form without a zone. */
    private static String text(InetAddress address, boolean ipv4) {
        if (ipv4) {
            return address.getHostAddress();
        }
        if (address instanceof Inet4Address) {
            return "::ffff:" + address.getHostAddress();
        }
        byte[] bytes = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (bytes[2 * i] & 0xff) << 8 | bytes[2 * i + 1] & 0xff;
        }
        int bestStart = -1;
        int bestLength = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int start = i;
            while (i < 8 && groups[i] == 0) {
                i++;
            }
            if (i - start > bestLength) {
                bestStart = start;
                bestLength = i - start;
            }
        }
        StringBuilder text = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }
}
