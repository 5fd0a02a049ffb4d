package dev.baton.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_LOCAL_FILES;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzz targets for every parser of bytes Baton does not control. In a normal test run each target
 * replays its committed corpus (src/test/resources/dev/baton/protocol/ProtocolFuzzTestInputs/&lt;target&gt;/);
 * {@code bin/baton-fuzz} runs them in Jazzer's fuzzing mode. Every target checks the same promises: on any bytes
 * the only exception is {@link MalformedPacketException}, every input returns within the timeout, and every buffer
 * an input creates is released (checked by reference count here, and by the paranoid leak detector after the
 * class). See docs/fuzzing.md.
 *
 * <p>Inputs that need a plan besides the bytes (where a stream is cut into reads, which side speaks) take it from
 * their first bytes, described on each target, so that a seed is a real packet stream behind a short prefix.
 */
class ProtocolFuzzTest {
    private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT; // leak-tracked buffers
    private static final int[] FRAMER_LIMITS = {0, 16, 1024, 65_536, Packets.MAX_PAYLOAD};
    private static final int[] HEAD_BYTES = {1, 4, 9, 64, 256, 512};
    private static final int[] TRACKER_HEAD_BYTES = {9, 16, 64, 512}; // the tracker needs 9: a lenenc, prepare counts

    /**
     * Bytes cut into reads through a {@link PacketFramer}. Prefix: 1 byte (high nibble picks the payload limit, low
     * nibble the number of cuts n), then n bytes of read lengths (each + 1); the rest is the stream.
     */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void framer(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int limit = FRAMER_LIMITS[((input[0] & 0xFF) >>> 4) % FRAMER_LIMITS.length];
        List<ByteBuf> reads = cut(input);
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(limit));
        boolean failed = false;
        try {
            for (ByteBuf read : reads) {
                boolean failedBefore = failed; // frames ahead of the bad header in the same read still count
                try {
                    ch.writeInbound(read);
                } catch (MalformedPacketException e) {
                    failed = true;
                }
                for (ByteBuf frame; (frame = ch.readInbound()) != null; ) {
                    try {
                        assertFalse(failedBefore, "a frame after the stream lost its framing");
                        int length = Packets.payloadLength(frame);
                        assertTrue(length <= limit, "frame of " + length + " bytes over the limit " + limit);
                        assertEquals(Packets.HEADER_SIZE + length, frame.readableBytes());
                    } finally {
                        frame.release();
                    }
                }
            }
            assertFalse(ch.finish(), "the framer left messages behind");
        } finally {
            ch.finishAndReleaseAll();
            for (ByteBuf read : reads) {
                assertEquals(0, read.refCnt(), "the framer did not release a read");
            }
        }
    }

    /**
     * Bytes cut into reads through a {@link PacketScanner}, which must report exactly the messages it reports for
     * the stream in one piece. Prefix: 1 byte (high nibble picks the head bytes, low nibble the number of cuts
     * n), then n bytes of read lengths (each + 1); the rest is the stream.
     */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void scanner(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int headBytes = HEAD_BYTES[((input[0] & 0xFF) >>> 4) % HEAD_BYTES.length];
        List<ByteBuf> reads = cut(input);
        ByteBuf whole = ALLOC.buffer();
        try {
            for (ByteBuf read : reads) {
                whole.writeBytes(read, read.readerIndex(), read.readableBytes());
            }
            List<String> expected = new ArrayList<>();
            assertTrue(new PacketScanner(headBytes).scan(whole, recorder(headBytes, expected)));
            List<String> seen = new ArrayList<>();
            PacketScanner scanner = new PacketScanner(headBytes);
            for (ByteBuf read : reads) {
                int from = read.readerIndex();
                int to = read.writerIndex();
                assertTrue(scanner.scan(read, recorder(headBytes, seen)));
                assertEquals(from, read.readerIndex(), "the scanner moved the reader index");
                assertEquals(to, read.writerIndex(), "the scanner moved the writer index");
                assertEquals(1, read.refCnt(), "the scanner retained or released a read");
            }
            assertEquals(expected, seen);
        } finally {
            whole.release();
            reads.forEach(ByteBuf::release);
        }
    }

    /**
     * One session's two directions, each through its own scanner into one {@link CommandTracker}, in the order the
     * input decides. Prefix: 1 byte of capabilities (bit 0 CLIENT_DEPRECATE_EOF, bit 1 CLIENT_SESSION_TRACK, bit 2
     * CLIENT_SECURE_CONNECTION, bits 3-4 the server's head bytes), 1 byte whose bit 0 starts the session already
     * logged in and bit 1 gives the tracker a {@link SessionState} to keep. Then segments: 1 byte (bit 7 set: from the client; bits 0-6: length), that many bytes.
     */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void commandTracker(byte[] input) {
        if (input.length < 2) {
            return;
        }
        int flags = input[0] & 0xFF;
        int capabilities = CLIENT_PROTOCOL_41 | CLIENT_CONNECT_WITH_DB | CLIENT_LOCAL_FILES | CLIENT_MULTI_RESULTS
                | CLIENT_PLUGIN_AUTH | ((flags & 1) != 0 ? CLIENT_DEPRECATE_EOF : 0)
                | ((flags & 2) != 0 ? CLIENT_SESSION_TRACK : 0) | ((flags & 4) != 0 ? CLIENT_SECURE_CONNECTION : 0);
        CommandTracker tracker = new CommandTracker(capabilities, "shop", (input[1] & 2) != 0 ? new SessionState() : null);
        PacketScanner fromClient = new PacketScanner(256);
        PacketScanner fromServer = new PacketScanner(TRACKER_HEAD_BYTES[(flags >>> 3) & 3]);
        if ((input[1] & 1) != 0) {
            scanServer(tracker, fromServer, new byte[] {7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0}); // the OK that ends the login
        }
        boolean serverFailed = false;
        for (int at = 2; at < input.length; ) {
            boolean client = (input[at] & 0x80) != 0;
            int length = Math.min(input[at] & 0x7F, input.length - at - 1);
            byte[] segment = Arrays.copyOfRange(input, at + 1, at + 1 + length);
            at += 1 + length;
            if (client) {
                ByteBuf read = copy(segment);
                try {
                    fromClient.scan(read, (seq, len, buf, index, available) -> {
                        tracker.onClientMessage(seq, len, buf, index, available);
                        return true;
                    });
                    assertEquals(1, read.refCnt());
                } finally {
                    read.release();
                }
            } else {
                try {
                    scanServer(tracker, fromServer, segment);
                    assertFalse(serverFailed, "the scanner read on after a rejected message");
                } catch (MalformedPacketException e) {
                    serverFailed = true;
                    assertTrue(tracker.untracked(), "a malformed response left the tracker tracking");
                    assertFalse(tracker.isQuiet());
                    assertFalse(fromServer.atBoundary());
                }
            }
        }
    }

    private static void scanServer(CommandTracker tracker, PacketScanner scanner, byte[] bytes) {
        ByteBuf read = copy(bytes);
        try {
            scanner.scan(read, (seq, len, buf, index, available) -> {
                tracker.onServerMessage(seq, len, buf, index, available);
                return true;
            });
        } finally {
            assertEquals(1, read.refCnt(), "the scanner retained or released a read");
            read.release();
        }
    }

    /**
     * An OK or EOF packet read by {@link ResponseStatus}, whole and with only its head shown. Prefix: 1 byte
     * (bit 0 CLIENT_SESSION_TRACK), 1 byte of how many trailing bytes the head leaves out; the rest is the payload.
     * What the head shows must agree with the whole packet.
     */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void responseStatus(byte[] input) {
        if (input.length < 3) {
            return;
        }
        int capabilities = (input[0] & 1) != 0 ? CLIENT_SESSION_TRACK : 0;
        ByteBuf payload = copy(Arrays.copyOfRange(input, 2, input.length));
        try {
            int length = payload.readableBytes();
            int available = Math.max(1, length - (input[1] & 0xFF));
            int wholeStatus = statusOrMalformed(() -> ResponseStatus.okStatus(payload, 0, length, length));
            int headStatus = statusOrMalformed(() -> ResponseStatus.okStatus(payload, 0, available, length));
            if (headStatus >= 0) {
                assertEquals(wholeStatus, headStatus, "the head and the whole packet disagree on the status");
            }
            statusOrMalformed(() -> ResponseStatus.eofStatus(payload, 0, available, length));
            String whole = schemaOrMalformed(() -> ResponseStatus.trackedSchema(payload, 0, length, length, capabilities));
            String head = schemaOrMalformed(() -> ResponseStatus.trackedSchema(payload, 0, available, length, capabilities));
            if (head != null) {
                assertEquals(whole, head, "the head and the whole packet disagree on the schema");
            }
            if (capabilities == 0) {
                assertNull(whole);
            }
        } finally {
            payload.release();
        }
    }

    /** A server greeting; one Baton decodes and re-encodes must decode again to the same bytes. */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void handshakeV10(byte[] input) {
        ByteBuf payload = copy(input);
        ByteBuf first = ALLOC.buffer();
        ByteBuf second = ALLOC.buffer();
        try {
            HandshakeV10 greeting;
            try {
                greeting = HandshakeV10.decode(payload);
            } catch (MalformedPacketException e) {
                return;
            }
            greeting.encode(first);
            HandshakeV10.decode(first.duplicate()).encode(second);
            assertEquals(first, second, "a greeting Baton re-encodes does not read back the same");
        } finally {
            payload.release();
            first.release();
            second.release();
        }
    }

    /** A client's handshake response or SSL request. */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void handshakeResponse41(byte[] input) {
        ByteBuf payload = copy(input);
        try {
            HandshakeResponse41 response = HandshakeResponse41.decode(payload);
            assertTrue((response.capabilities() & CLIENT_PROTOCOL_41) != 0);
            assertEquals(response.sslRequest(), response.user() == null);
        } catch (MalformedPacketException e) {
            // the one exception allowed
        } finally {
            payload.release();
        }
    }

    /**
     * A PROXY protocol v1 or v2 header (and what follows it) cut into reads through Netty's
     * {@code HAProxyMessageDecoder}, as Baton puts it in front of a trusted load balancer's connection. Baton relies on
     * three things: a bad header fails with a {@code DecoderException} (Baton refuses the connection on any, since the
     * decoder does not close it for every bad header: a v2 TLV longer than the header fails with an index error and
     * leaves the connection open), after which Baton reads nothing more; at most one header comes out, before any
     * other bytes; and a TCP header's source is an IP literal of its family, so the client address Baton books never
     * needs a name lookup. Prefix: 1 byte (low nibble: number of cuts n), n read lengths.
     */
    @FuzzTest
    @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a busy loop ignores interrupts
    void proxyHeader(byte[] input) {
        if (input.length == 0) {
            return;
        }
        List<ByteBuf> reads = cut(input);
        EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
        int headers = 0;
        boolean failed = false;
        try {
            for (ByteBuf read : reads) {
                if (failed || !ch.isActive()) {
                    read.release(); // Baton closed the connection on a bad header: nothing more is read
                    continue;
                }
                try {
                    ch.writeInbound(read);
                } catch (DecoderException e) {
                    failed = true;
                }
                for (Object message; (message = ch.readInbound()) != null; ) {
                    try {
                        if (message instanceof HAProxyMessage header) {
                            headers++;
                            assertEquals(1, headers, "more than one PROXY header from one connection");
                            checkAddresses(header);
                        } else {
                            assertTrue(message instanceof ByteBuf, "unexpected message " + message.getClass());
                            assertEquals(1, headers, "bytes passed on before a header was decoded");
                        }
                    } finally {
                        ReferenceCountUtil.release(message);
                    }
                }
            }
        } finally {
            try {
                ch.finishAndReleaseAll();
            } catch (DecoderException e) {
                // a failure the decoder recorded while the connection closed: Baton has refused it already
            }
            for (ByteBuf read : reads) {
                assertEquals(0, read.refCnt(), "a read was not released");
            }
        }
    }

    private static void checkAddresses(HAProxyMessage header) {
        switch (header.proxiedProtocol()) {
            case TCP4, UDP4 -> {
                assertTrue(NetUtil.isValidIpV4Address(header.sourceAddress()), header.sourceAddress());
                assertTrue(NetUtil.isValidIpV4Address(header.destinationAddress()), header.destinationAddress());
            }
            case TCP6, UDP6 -> {
                assertTrue(NetUtil.isValidIpV6Address(header.sourceAddress()), header.sourceAddress());
                assertTrue(NetUtil.isValidIpV6Address(header.destinationAddress()), header.destinationAddress());
            }
            default -> {
                // UNKNOWN and AF_UNIX: Baton keeps the connection's own peer address (UNIX) or refuses the path
            }
        }
    }

    /** The stream after the plan prefix, cut into leak-tracked reads at the lengths the prefix gives. */
    private static List<ByteBuf> cut(byte[] input) {
        int cuts = Math.min(input[0] & 0x0F, input.length - 1);
        int at = 1 + cuts;
        List<ByteBuf> reads = new ArrayList<>();
        for (int i = 1; i <= cuts && at < input.length; i++) {
            int length = Math.min((input[i] & 0xFF) + 1, input.length - at);
            reads.add(copy(Arrays.copyOfRange(input, at, at + length)));
            at += length;
        }
        reads.add(copy(Arrays.copyOfRange(input, at, input.length)));
        return reads;
    }

    private static ByteBuf copy(byte[] bytes) {
        return ALLOC.buffer(bytes.length).writeBytes(bytes);
    }

    /** Records each message start with its head bytes, checking the promise about how many are available. */
    private static PacketScanner.Listener recorder(int headBytes, List<String> into) {
        return (seq, length, buf, index, available) -> {
            int head = Math.min(length, headBytes);
            assertTrue(available >= head, "only " + available + " of " + head + " head bytes available");
            byte[] bytes = new byte[head];
            buf.getBytes(index, bytes);
            into.add(seq + "/" + length + "/" + TestPackets.hex(bytes));
            return true;
        };
    }

    private interface StatusRead {
        int read();
    }

    private interface SchemaRead {
        String read();
    }

    private static int statusOrMalformed(StatusRead read) {
        try {
            return read.read();
        } catch (MalformedPacketException e) {
            return -2;
        }
    }

    private static String schemaOrMalformed(SchemaRead read) {
        try {
            return read.read();
        } catch (MalformedPacketException e) {
            return null;
        }
    }
}
