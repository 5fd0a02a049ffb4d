package dev.baton.proxy.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.Inet6Address;
import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClientAddressTest {

    @ParameterizedTest(name = "{0} is written {1}")
    @CsvSource({
            "10.0.0.12, 10.0.0.12",
            "::1, ::1",
            "0:0:0:0:0:0:0:1, ::1",
            "::1%lo, ::1",
            "2001:DB8:0:0:0:0:2:1, 2001:db8::2:1",
            "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
            "fe80::1%eth0, fe80::1",
            "::ffff:127.0.0.1, 127.0.0.1",
            "::ffff:7f00:2, 127.0.0.2",
    })
    void configKeysAreWrittenOneWay(String written, String expected) {
        assertEquals(expected, ClientAddress.parse(written));
    }

    @Test
    void connectingClientOnIpv6LoopbackWithScopeIsWrittenCompressed() throws Exception {
        byte[] loopback = InetAddress.getByName("::1").getAddress();
        InetAddress withScope = Inet6Address.getByAddress("lo", loopback, 1);
        assertEquals("0:0:0:0:0:0:0:1%1", withScope.getHostAddress(), "what the quota compared before");
        assertEquals("::1", ClientAddress.of(withScope));
        assertEquals("127.0.0.1", ClientAddress.of(InetAddress.getByName("127.0.0.1")));
    }

    @Test
    void hostNamesAreNotAddresses() {
        assertEquals("'app-server-1' is not an IP address (write it like 10.0.0.12 or ::1)",
                assertThrows(IllegalArgumentException.class, () -> ClientAddress.parse("app-server-1")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClientAddress.parse("10.0.0.256"));
        assertThrows(IllegalArgumentException.class, () -> ClientAddress.parse("::1::2"));
    }
}
