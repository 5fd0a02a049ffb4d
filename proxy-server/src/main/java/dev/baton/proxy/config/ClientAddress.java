package dev.baton.proxy.config;

import io.netty.util.NetUtil;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * The one way Baton writes a client's IP address, in quota keys, metrics labels and status: IPv4 dotted, IPv6
 * in RFC 5952 compressed form without a scope id, and an IPv4-mapped IPv6 address as the IPv4 address it maps.
 * Config keys and connecting clients both pass through here, so {@code "::1"} in the config matches a client on ::1.
 */
public final class ClientAddress {
    private ClientAddress() {
    }

    /** {@code address} as Baton writes it. */
    public static String of(InetAddress address) {
        if (address instanceof Inet6Address) {
            byte[] bytes = address.getAddress();
            if (isIpv4Mapped(bytes)) {
                return of(ipv4(Arrays.copyOfRange(bytes, 12, 16)));
            }
            return NetUtil.toAddressString(address); // compressed; built from the bytes, so no scope id
        }
        return address.getHostAddress();
    }

    /**
     * An IP address literal as Baton writes it ({@code 0:0:0:0:0:0:0:1} and {@code ::1%lo} become {@code ::1}).
     *
     * @throws IllegalArgumentException if {@code literal} is not an IPv4 or IPv6 address literal
     */
    public static String parse(String literal) {
        String text = literal.trim();
        int scope = text.indexOf('%');
        if (scope > 0 && text.indexOf(':') >= 0) {
            text = text.substring(0, scope);
        }
        if (!NetUtil.isValidIpV4Address(text) && !NetUtil.isValidIpV6Address(text)) {
            throw new IllegalArgumentException("'" + literal + "' is not an IP address (write it like 10.0.0.12 or ::1)");
        }
        return of(NetUtil.createInetAddressFromIpAddressString(text));
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }

    private static InetAddress ipv4(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are always an IPv4 address", e);
        }
    }
}
