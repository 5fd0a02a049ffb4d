package dev.baton.routing.core;

import dev.baton.routing.ProxyProtocolVersion;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The PROXY protocol header bytes Baton sends a server, checked byte for byte against the specification's layout. */
class ProxyHeaderTest {
    private static final String V2_SIGNATURE = "0d0a0d0a000d0a515549540a";

    private static InetSocketAddress at(String ip, int port) throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }

    private static String v1(InetSocketAddress source, InetSocketAddress destination) {
        return new String(ProxyHeader.of(ProxyProtocolVersion.V1, source, destination), StandardCharsets.US_ASCII);
    }

    private static String v2(InetSocketAddress source, InetSocketAddress destination) {
        return HexFormat.of().formatHex(ProxyHeader.of(ProxyProtocolVersion.V2, source, destination));
    }

    @Test
    void version1NamesAnIpv4ClientAndServerAsTcp4() throws Exception {
        assertEquals("PROXY TCP4 192.0.2.7 10.0.0.5 51234 3306\r\n", v1(at("192.0.2.7", 51234), at("10.0.0.5", 3306)));
    }

    @Test
    void version1WritesIpv6InItsShortFormAsTcp6() throws Exception {
        assertEquals("PROXY TCP6 2001:db8::7 2001:db8::1:0:0:1 40000 3306\r\n",
                v1(at("2001:db8:0:0:0:0:0:7", 40000), at("2001:db8:0:0:1:0:0:1", 3306)));
        assertEquals("PROXY TCP6 ::1 fe80::1 1 65535\r\n", v1(at("::1", 1), at("fe80::1%1", 65535)),
                "loopback shortened, the zone of a link-local address left out");
        assertEquals("PROXY TCP6 2001:db8:0:1:1:1:1:1 1::2 7 8\r\n", v1(at("2001:db8:0:1:1:1:1:1", 7), at("1:0:0:0:0:0:0:2", 8)),
                "a single zero group stays written out");
    }

    @Test
    void version1WritesAnIpv4AddressAsIpv4MappedIpv6WhenTheOtherSideIsIpv6() throws Exception {
        assertEquals("PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51234 3306\r\n", v1(at("192.0.2.7", 51234), at("2001:db8::1", 3306)));
        assertEquals("PROXY TCP6 2001:db8::7 ::ffff:10.0.0.5 51234 3306\r\n", v1(at("2001:db8::7", 51234), at("10.0.0.5", 3306)));
    }

    @Test
    void version2IsTheSignatureProxyCommandTcp4AndTwelveAddressBytes() throws Exception {
        assertEquals(V2_SIGNATURE + "21" + "11" + "000c" + "c0000207" + "0a000005" + "c822" + "0cea",
                v2(at("192.0.2.7", 51234), at("10.0.0.5", 3306)));
    }

    @Test
    void version2CarriesIpv6AddressesAsTcp6InThirtySixBytes() throws Exception {
        assertEquals(V2_SIGNATURE + "21" + "21" + "0024" + "20010db8000000000000000000000007"
                        + "20010db8000000000000000000000001" + "9c40" + "0cea",
                v2(at("2001:db8::7", 40000), at("2001:db8::1", 3306)));
        assertEquals(V2_SIGNATURE + "21" + "21" + "0024" + "00000000000000000000ffffc0000207"
                        + "20010db8000000000000000000000001" + "c822" + "0cea",
                v2(at("192.0.2.7", 51234), at("2001:db8::1", 3306)), "an IPv4 client towards an IPv6 server, mapped");
    }

    @Test
    void withoutAnAddressTheHeaderSaysTheConnectionIsBatonsOwn() throws Exception {
        assertEquals("PROXY UNKNOWN\r\n", v1(null, at("10.0.0.5", 3306)));
        assertEquals(V2_SIGNATURE + "20" + "00" + "0000", v2(InetSocketAddress.createUnresolved("app1.example", 1),
                at("10.0.0.5", 3306)), "version 2, LOCAL, no family, no address block");
    }

    @Test
    void offHasNoHeader() {
        assertThrows(IllegalArgumentException.class, () -> ProxyHeader.local(ProxyProtocolVersion.OFF));
    }
}
