package dev.baton.routing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostPortTest {

    @Test
    void aListenAddressMayAskForAnyFreePort() {
        HostPort listen = HostPort.parseListen("127.0.0.1:0");
        assertEquals(new HostPort("127.0.0.1", 0), listen);
        assertTrue(listen.anyFreePort());
    }

    @Test
    void aServerAddressNeedsARealPort() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostPort.parse("127.0.0.1:0"));
        assertEquals("port 0 is outside 1..65535 (0, any free port, is only for listen and admin.listen)", e.getMessage());
    }

    @Test
    void aNodeBuiltInCodeRefusesPortZero() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Node("db1", new HostPort("127.0.0.1", 0), 1));
        assertEquals("node db1 has port 0; a node needs the port its server listens on", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "127.0.0.1:70000 | port 70000 is outside 1..65535 (or 0 for any free port)",
            "127.0.0.1:-1    | port -1 is outside 1..65535 (or 0 for any free port)",
            "localhost       | 'localhost' is not host:port",
    })
    void aListenAddressOutsideThePortRangeIsRefused(String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> HostPort.parseListen(text)).getMessage());
    }

    @Test
    void bothFormsReadIpv6InBrackets() {
        assertEquals(new HostPort("::1", 6033), HostPort.parse("[::1]:6033"));
        assertEquals(new HostPort("::1", 0), HostPort.parseListen("[::1]:0"));
    }
}
