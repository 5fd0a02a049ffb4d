package dev.baton.proxy;

import dev.baton.proxy.config.BatonConfig;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.Node;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded random PROXY protocol headers, half of them mutated, from a trusted load balancer: every connection comes to
 * an end a client can see (logged in, refused with an ERR, or dropped), never hangs; every intact header books the
 * client it names; and afterwards Baton holds no session, no quota slot and no buffer, and still serves.
 */
class ProxyProtocolRandomTest {
    private static final int CONNECTIONS = 300;

    @Test
    void threeHundredRandomHeadersHalfOfThemMutatedEachEndVisiblyAndLeaveNothingBehind() throws Exception {
        try (FakeMySqlServer db = FakeMySqlServer.answeringOk();
             BatonProxy proxy = BatonProxy.start(WriterChangeTest.config(db.address())
                             .withProxyProtocol(new BatonConfig.ProxyProtocol(List.of("127.0.0.1"), true))
                             // A missing header is refused after 300 ms; a login (or bytes after a mutated header
                             // read as one) has 3 s, well inside the client's 5 s read timeout even on a busy machine.
                             .withTimeouts(Duration.ofMillis(300), Duration.ofSeconds(3)),
                     new FakeTopology(new Node("db1", db.address(), 1)))) {
            Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
            Random seeds = new Random(20261127);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> runs = new ArrayList<>();
                for (int i = 0; i < CONNECTIONS; i++) {
                    long seed = seeds.nextLong();
                    int n = i;
                    runs.add(pool.submit(() -> {
                        String outcome = connectOnce(proxy, new Random(seed), n);
                        outcomes.computeIfAbsent(outcome, k -> new AtomicInteger()).incrementAndGet();
                        return null;
                    }));
                }
                for (Future<?> run : runs) {
                    run.get(); // an assertion inside fails the test with the seed's story
                }
            } finally {
                pool.shutdownNow();
            }
            System.out.println("PROXY headers by outcome: " + outcomes);
            assertEquals(CONNECTIONS, outcomes.values().stream().mapToInt(AtomicInteger::get).sum());
            assertNotNull(outcomes.get("intact-logged-in"), "intact headers log in: " + outcomes);
            assertNotNull(outcomes.get("mutated-dropped"), "garbled headers are dropped: " + outcomes);
            assertNotNull(outcomes.get("mutated-refused"), "incomplete headers are refused: " + outcomes);
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.activeSessions() == 0);
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.quota().usage().stream()
                    .allMatch(u -> u.connections() == 0));
            try (RawClient clean = new RawClient(proxy.address())) {
                clean.raw("PROXY TCP4 10.200.0.1 10.0.0.1 40000 6033\r\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals(0x00, clean.login()[0] & 0xFF, "Baton still serves");
            }
        }
    }

    /** One connection: a header (maybe mutated), then a login; returns what the client saw. */
    private static String connectOnce(BatonProxy proxy, Random random, int n) throws IOException {
        Header header = header(random, n);
        boolean mutated = random.nextBoolean();
        byte[] sent = mutated ? mutate(header.bytes, random) : header.bytes;
        String prefix = mutated ? "mutated-" : "intact-";
        try (RawClient client = new RawClient(proxy.address())) {
            client.raw(sent);
            byte[] first;
            try {
                first = client.read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no greeting, no error and no close within 5 s after " + describe(sent), e);
            } catch (IOException e) {
                assertTrue(mutated, "an intact header was dropped: " + describe(sent));
                return prefix + "dropped";
            }
            if ((first[0] & 0xFF) == 0xFF) {
                assertEquals(1043, RawClient.errorCode(first), RawClient.errorMessage(first));
                assertTrue(mutated, "an intact header was refused: " + RawClient.errorMessage(first));
                return prefix + "refused";
            }
            byte[] answer;
            try {
                answer = client.loginAfterGreeting(first);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no answer to the login within 5 s after " + describe(sent), e);
            } catch (IOException e) {
                assertTrue(mutated, "an intact header's login was dropped: " + describe(sent));
                return prefix + "dropped-after-greeting";
            }
            if ((answer[0] & 0xFF) == 0xFF) {
                assertTrue(mutated, "an intact header's login was refused: " + RawClient.errorMessage(answer));
                return prefix + "refused-after-greeting"; // bytes after a mutated header read as the response
            }
            assertEquals(0x00, answer[0] & 0xFF);
            if (!mutated) {
                List<String> clients = proxy.quota().usage().stream().filter(u -> u.connections() > 0)
                        .map(ClientQuota.ClientUsage::client).toList();
                assertTrue(clients.contains(header.client), header.client + " is booked, not only " + clients);
            }
            return prefix + "logged-in";
        }
    }

    /** A header and the client Baton must book for it (the peer's own address for LOCAL and UNKNOWN). */
    private record Header(byte[] bytes, String client) {
    }

    private static Header header(Random random, int n) {
        String v4 = "10." + (n >> 8 & 0xFF) + "." + (n & 0xFF) + "." + (1 + random.nextInt(254));
        String v6 = "2001:db8::" + Integer.toHexString(1 + n);
        int port = 1024 + random.nextInt(60_000);
        return switch (random.nextInt(6)) {
            case 0 -> new Header(ascii("PROXY TCP4 " + v4 + " 10.0.0.1 " + port + " 6033\r\n"), v4);
            case 1 -> new Header(ascii("PROXY TCP6 " + v6 + " 2001:db8::1 " + port + " 6033\r\n"), v6);
            case 2 -> new Header(ascii("PROXY UNKNOWN\r\n"), "127.0.0.1");
            case 3 -> new Header(v2(0x21, 0x11, concat(ipv4(v4), ipv4("10.0.0.1"), ports(port)), random), v4);
            case 4 -> new Header(v2(0x21, 0x21, concat(ipv6(1 + n), ipv6(1), ports(port)), random), v6);
            default -> new Header(v2(0x20, 0x00, new byte[0], random), "127.0.0.1"); // LOCAL: a health check
        };
    }

    /** A v2 header: signature, version/command, family/transport, length, addresses and maybe a NOOP TLV. */
    private static byte[] v2(int versionCommand, int family, byte[] addresses, Random random) {
        byte[] tlv = random.nextBoolean() ? new byte[0] : new byte[]{0x04, 0x00, 0x02, 'h', 'i'};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        out.write(versionCommand);
        out.write(family);
        int length = addresses.length + tlv.length;
        out.write(length >> 8);
        out.write(length & 0xFF);
        out.writeBytes(addresses);
        out.writeBytes(tlv);
        return out.toByteArray();
    }

    /** Bit flips, a byte overwritten, truncation, or junk appended. */
    private static byte[] mutate(byte[] header, Random random) {
        byte[] out = header.clone();
        switch (random.nextInt(4)) {
            case 0 -> {
                for (int i = 0; i < 1 + random.nextInt(3); i++) {
                    out[random.nextInt(out.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> out[random.nextInt(out.length)] = (byte) random.nextInt(256);
            case 2 -> out = java.util.Arrays.copyOf(out, 1 + random.nextInt(out.length - 1));
            default -> {
                byte[] longer = java.util.Arrays.copyOf(out, out.length + 1 + random.nextInt(48));
                for (int i = out.length; i < longer.length; i++) {
                    longer[i] = (byte) random.nextInt(256);
                }
                out = longer;
            }
        }
        return out;
    }

    private static byte[] ipv4(String address) {
        String[] parts = address.split("\\.");
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            out[i] = (byte) Integer.parseInt(parts[i]);
        }
        return out;
    }

    /** 2001:db8::{@code last} as 16 bytes. */
    private static byte[] ipv6(int last) {
        byte[] out = new byte[16];
        out[0] = 0x20;
        out[1] = 0x01;
        out[2] = 0x0d;
        out[3] = (byte) 0xb8;
        out[14] = (byte) (last >> 8);
        out[15] = (byte) last;
        return out;
    }

    private static byte[] ports(int source) {
        return new byte[]{(byte) (source >> 8), (byte) source, 0x17, (byte) 0x91};
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static String describe(byte[] bytes) {
        return java.util.HexFormat.of().formatHex(bytes);
    }
}
