package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A load balancer in front of Baton names the real client in a PROXY protocol header (v1 text or v2 binary): a peer
 * in proxy-protocol.accept-from is trusted with it, and the quota books the client's own address; anyone else
 * sending one is refused with an error that says why.
 */
class ProxyProtocolInTest {

    private static BatonConfig config(FakeMySqlServer db, List<String> acceptFrom, boolean require) {
        return WriterChangeTest.config(db.address()).withProxyProtocol(new BatonConfig.ProxyProtocol(acceptFrom, require));
    }

    private static BatonProxy start(BatonConfig config, FakeMySqlServer db) throws Exception {
        return BatonProxy.start(config, new FakeTopology(new Node("db1", db.address(), 1)));
    }

    private static List<String> clients(BatonProxy proxy) {
        return proxy.quota().usage().stream().filter(u -> u.connections() > 0).map(ClientQuota.ClientUsage::client).toList();
    }

    @Test
    void aTrustedLoadBalancersV1HeaderMakesTheQuotaCountTheClientBehindIt() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.0/8"), true), db);
             RawClient client = new RawClient(proxy.address())) {
            client.raw("PROXY TCP4 10.1.2.3 10.0.0.1 51234 6033\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] ok = client.login();
            assertEquals(0x00, ok[0] & 0xFF, "logged in through the load balancer");
            assertEquals(List.of("10.1.2.3"), clients(proxy), "the client's own address, not the load balancer's");
        }
    }

    @Test
    void aTrustedLoadBalancersV2HeaderWorksTooAndAnIpv6ClientIsWrittenAsBatonWritesIt() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.1"), true), db);
             RawClient client = new RawClient(proxy.address())) {
            client.raw(v2Tcp6());
            assertEquals(0x00, client.login()[0] & 0xFF);
            assertEquals(List.of("2001:db8::7"), clients(proxy));
        }
    }

    @Test
    void aHeaderFromAPeerNotListedIsRefusedWithAnErrorThatSaysSo() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("10.9.9.0/24"), true), db);
             RawClient client = new RawClient(proxy.address())) {
            client.greeting(); // an untrusted peer is greeted at once, as any client
            client.raw("PROXY TCP4 10.1.2.3 10.0.0.1 51234 6033\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] err = client.read();
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("Bad handshake: PROXY protocol header from 127.0.0.1, which proxy-protocol.accept-from does not list",
                    RawClient.errorMessage(err));
            await().atMost(Duration.ofSeconds(5)).until(client::closedByBaton);
            assertEquals(0, db.commands.size(), "the writer never heard of it");
        }
    }

    @Test
    void aListedPeerThatSendsNoHeaderIsRefusedWhenOneIsRequired() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.1/32"), true)
                     .withTimeouts(Duration.ofMillis(300), Duration.ofSeconds(5)), db);
             RawClient client = new RawClient(proxy.address())) {
            byte[] err = client.read(); // the client waits for a greeting; Baton waits for the header
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("Bad handshake: no PROXY protocol header within 300 ms from 127.0.0.1, which must send one "
                    + "(proxy-protocol.require)", RawClient.errorMessage(err));
        }
    }

    @Test
    void aListedPeerMayConnectDirectlyWhenAHeaderIsNotRequired() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.1"), false), db);
             RawClient client = new RawClient(proxy.address())) {
            assertEquals(0x00, client.login()[0] & 0xFF, "greeted after a short wait for a header that did not come");
            assertEquals(List.of("127.0.0.1"), clients(proxy));
        }
    }

    @Test
    void aGarbledHeaderFromATrustedPeerDropsTheConnectionAsTheProxyProtocolWants() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.1"), true), db);
             RawClient client = new RawClient(proxy.address())) {
            client.raw("PROXY TCP4 not-an-address 10.0.0.1 51234 6033\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThrows(java.io.IOException.class, client::read, "no greeting: the connection is dropped");
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
            assertEquals(0, db.commands.size(), "the writer never heard of it");
        }
    }

    @Test
    void aV2HeaderWhoseTlvRunsPastItsEndIsRefusedThoughTheDecoderLeavesTheConnectionOpen() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = start(config(db, List.of("127.0.0.1"), true), db);
             RawClient client = new RawClient(proxy.address())) {
            ByteArrayOutputStream header = new ByteArrayOutputStream();
            header.writeBytes(new byte[]{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
            header.writeBytes(new byte[]{0x21, 0x11, 0x00, 19}); // PROXY, TCP over IPv4, 12 address bytes + 7 of TLV
            header.writeBytes(new byte[]{10, 1, 2, 3, 10, 0, 0, 1, (byte) 0xC8, 0x22, 0x17, (byte) 0x91});
            header.writeBytes(new byte[]{0x04, 0x17, (byte) 0x91, 'n', 'o', 'o', 'p'}); // a NOOP TLV "6033 bytes" long
            client.raw(header.toByteArray());
            byte[] err = client.read();
            assertEquals(1043, RawClient.errorCode(err));
            assertEquals("Bad handshake: invalid PROXY protocol header: a length in it runs past its end",
                    RawClient.errorMessage(err));
            await().atMost(Duration.ofSeconds(5)).until(client::closedByBaton);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeSessions() == 0);
            assertEquals(0, db.commands.size(), "the writer never heard of it");
        }
    }

    /** A PROXY v2 header for a TCP connection over IPv6 from 2001:db8::7 port 40000 to 2001:db8::1 port 6033. */
    private static byte[] v2Tcp6() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        out.write(0x21); // version 2, PROXY
        out.write(0x21); // AF_INET6, STREAM
        out.writeBytes(new byte[]{0x00, 36}); // address block length
        byte[] src = new byte[16];
        src[0] = 0x20; src[1] = 0x01; src[2] = 0x0d; src[3] = (byte) 0xb8; src[15] = 7;
        byte[] dst = src.clone();
        dst[15] = 1;
        out.writeBytes(src);
        out.writeBytes(dst);
        out.writeBytes(new byte[]{(byte) 0x9C, 0x40, 0x17, (byte) 0x91}); // ports 40000, 6033
        return out.toByteArray();
    }
}
