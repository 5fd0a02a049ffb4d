package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static dev.baton.protocol.StatusFlags.SERVER_STATUS_AUTOCOMMIT;
import static dev.baton.protocol.TestPackets.MAX;
import static dev.baton.protocol.TestPackets.columnCount;
import static dev.baton.protocol.TestPackets.columnDefinition;
import static dev.baton.protocol.TestPackets.eof;
import static dev.baton.protocol.TestPackets.err;
import static dev.baton.protocol.TestPackets.hex;
import static dev.baton.protocol.TestPackets.ok;
import static dev.baton.protocol.TestPackets.payload;
import static dev.baton.protocol.TestPackets.textRow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PacketScannerTest {
    private static final int BIG_HEAD_BYTES = 16;

    /** What a listener is told about one message: its first packet's sequence id and length, and its head bytes. */
    record Message(int sequenceId, int payloadLength, String head) {
    }

    /** OK, a two-column text result set, an OK with affected rows, an empty packet and an ERR: about 250 bytes. */
    private static final ServerStream SMALL = new ServerStream()
            .message(2, ok(SERVER_STATUS_AUTOCOMMIT))
            .message(1, columnCount(2))
            .message(2, columnDefinition("customer", "id"))
            .message(3, columnDefinition("customer", "name"))
            .message(4, eof(SERVER_STATUS_AUTOCOMMIT))
            .message(5, textRow("1", "alice"))
            .message(6, textRow(null, "x".repeat(40)))
            .message(7, eof(SERVER_STATUS_AUTOCOMMIT))
            .message(1, payload().int1(0).lenenc(300).lenenc(70_000).int2(SERVER_STATUS_AUTOCOMMIT).int2(0).build())
            .message(3, new byte[0])
            .message(1, err(1146, "42S02", "Table 'shop.orders' doesn't exist"));

    /**
     * A result set whose rows cross 16 MiB: one of 2 * 0xFFFFFF + 100 bytes (two full packets and a short one) and one
     * of exactly 0xFFFFFF bytes (a full packet and an empty one), then a small row and the EOF. About 48 MiB.
     */
    private static ServerStream big;

    @BeforeAll
    static void buildBigStream() {
        big = new ServerStream()
                .message(1, columnCount(1))
                .message(2, columnDefinition("document", "body"))
                .message(3, eof(SERVER_STATUS_AUTOCOMMIT))
                .message(4, longTextRow(2 * MAX + 100))
                .message(7, longTextRow(MAX))
                .message(9, textRow("short"))
                .message(10, eof(SERVER_STATUS_AUTOCOMMIT));
    }

    @AfterAll
    static void dropBigStream() {
        big = null;
    }

    @ParameterizedTest(name = "head bytes {0}")
    @ValueSource(ints = {1, 4, 9, 64})
    void reportsEveryMessageOfAStreamFedWhole(int headBytes) {
        assertEquals(SMALL.expected(headBytes), scan(SMALL, headBytes));
    }

    @ParameterizedTest(name = "head bytes {0}")
    @ValueSource(ints = {1, 4, 9, 64})
    void reportsTheSameMessagesWhereverTheStreamIsSplit(int headBytes) {
        List<Message> expected = SMALL.expected(headBytes);
        for (int cut = 0; cut <= SMALL.bytes().length; cut++) {
            assertEquals(expected, scan(SMALL, headBytes, cut), "split at " + cut);
        }
    }

    @ParameterizedTest(name = "head bytes {0}")
    @ValueSource(ints = {1, 4, 9, 64})
    void reportsTheSameMessagesWhereverTheStreamIsSplitTwice(int headBytes) {
        List<Message> expected = SMALL.expected(headBytes);
        for (int first = 0; first <= SMALL.bytes().length; first++) {
            for (int second = first; second <= SMALL.bytes().length; second++) {
                assertEquals(expected, scan(SMALL, headBytes, first, second), "split at " + first + " and " + second);
            }
        }
    }

    @ParameterizedTest(name = "head bytes {0}")
    @ValueSource(ints = {1, 4, 9, 64})
    void reportsTheSameMessagesWhenFedOneByteAtATime(int headBytes) {
        int[] cuts = new int[SMALL.bytes().length];
        Arrays.setAll(cuts, i -> i);

        assertEquals(SMALL.expected(headBytes), scan(SMALL, headBytes, cuts));
    }

    @Test
    void reportsOnlyTheFirstPacketOfRowsSplitAtSixteenMiB() {
        List<Message> messages = scan(big, BIG_HEAD_BYTES);

        assertEquals(big.expected(BIG_HEAD_BYTES), messages);
        assertEquals(List.of(1, 2, 3, 4, 7, 9, 10), messages.stream().map(Message::sequenceId).toList());
        assertEquals(MAX, messages.get(3).payloadLength());
        assertEquals(MAX, messages.get(4).payloadLength());
    }

    @Test
    void reportsTheSameMessagesWhenTheBigStreamIsSplitNearAnyPacketBoundary() {
        List<Message> expected = big.expected(BIG_HEAD_BYTES);
        for (int boundary : big.packetBoundaries) {
            for (int cut = Math.max(0, boundary - 24); cut <= Math.min(big.bytes().length, boundary + 24); cut++) {
                assertEquals(expected, scan(big, BIG_HEAD_BYTES, cut), "split at " + cut);
            }
        }
    }

    @Test
    void reportsTheSameMessagesWhenTheBigStreamArrivesInRandomChunks() {
        List<Message> expected = big.expected(BIG_HEAD_BYTES);
        Random random = new Random(20_240_611);
        for (int round = 0; round < 20; round++) {
            List<Integer> cuts = new ArrayList<>();
            for (int at = 0; at < big.bytes().length; ) {
                at += random.nextBoolean() ? 1 + random.nextInt(16) : 1 + random.nextInt(2 << 20);
                cuts.add(Math.min(at, big.bytes().length));
            }
            int[] chunkEnds = cuts.stream().mapToInt(Integer::intValue).toArray();
            assertEquals(expected, scan(big, BIG_HEAD_BYTES, chunkEnds), "round " + round);
        }
    }

    @Test
    void stopsScanningWhenTheListenerRejectsAMessage() {
        byte[] stream = new ServerStream().message(1, ok(0)).message(1, ok(0)).message(1, ok(0)).bytes();
        List<Integer> seen = new ArrayList<>();
        PacketScanner scanner = new PacketScanner(8);
        ByteBuf buf = Unpooled.wrappedBuffer(stream);

        boolean completed = scanner.scan(buf, (seq, length, b, index, available) -> {
            seen.add(index);
            return seen.size() < 2;
        });

        assertFalse(completed);
        assertEquals(List.of(4, 15), seen);
        assertEquals(0, buf.readerIndex());
        buf.release();
    }

    @Test
    void stopsScanningWhenTheListenerRejectsAMessageWhoseHeadArrivedInTwoReads() {
        byte[] stream = new ServerStream().message(1, ok(0)).message(1, ok(0)).message(1, ok(0)).bytes();
        List<Integer> seen = new ArrayList<>();
        PacketScanner.Listener rejectSecond = (seq, length, b, index, available) -> {
            seen.add(length);
            return seen.size() < 2;
        };
        PacketScanner scanner = new PacketScanner(8);
        ByteBuf first = Unpooled.wrappedBuffer(stream, 0, 13);
        ByteBuf rest = Unpooled.wrappedBuffer(stream, 13, stream.length - 13);

        assertTrue(scanner.scan(first, rejectSecond));
        assertFalse(scanner.scan(rest, rejectSecond));

        assertEquals(List.of(7, 7), seen);
        first.release();
        rest.release();
    }

    @Test
    void refusesEveryLaterScanOnceTheListenerThrewAndKeepsNoBuffer() {
        byte[] stream = new ServerStream().message(1, ok(0)).message(2, ok(0)).message(3, ok(0)).bytes();
        List<Integer> seen = new ArrayList<>();
        PacketScanner.Listener rejectFirst = (seq, length, b, index, available) -> {
            seen.add(seq);
            if (seq == 1) {
                throw new MalformedPacketException("rejected by the listener");
            }
            return true;
        };
        PacketScanner scanner = new PacketScanner(8);
        ByteBuf first = Unpooled.wrappedBuffer(stream, 0, 6); // header and two head bytes of the first OK
        ByteBuf second = Unpooled.wrappedBuffer(stream, 6, 16); // the rest of the first OK, all of the second
        ByteBuf cutHeader = Unpooled.wrappedBuffer(stream, 22, 3); // the third's header, cut short

        assertTrue(scanner.scan(first, rejectFirst));
        MalformedPacketException thrown = assertThrows(MalformedPacketException.class, () -> scanner.scan(second, rejectFirst));
        MalformedPacketException later = assertThrows(MalformedPacketException.class, () -> scanner.scan(cutHeader, rejectFirst));

        assertEquals("rejected by the listener", thrown.getMessage());
        assertEquals("stream no longer scanned: an earlier message in it was rejected", later.getMessage());
        assertEquals(List.of(1), seen);
        assertFalse(scanner.atBoundary());
        assertEquals(1, second.refCnt(), "the scanner neither releases nor retains the buffer");
        assertEquals(0, second.readerIndex());
        first.release();
        second.release();
        cutHeader.release();
    }

    @Test
    void passesOnTheListenersExceptionForAMessageThatArrivedWholeInOneRead() {
        byte[] stream = new ServerStream().message(1, ok(0)).message(2, ok(0)).bytes();
        PacketScanner.Listener rejectAll = (seq, length, b, index, available) -> {
            throw new MalformedPacketException("rejected by the listener");
        };
        PacketScanner scanner = new PacketScanner(8); // no head has straddled two reads: the scanner has no stash yet
        ByteBuf whole = Unpooled.wrappedBuffer(stream);

        MalformedPacketException thrown = assertThrows(MalformedPacketException.class, () -> scanner.scan(whole, rejectAll));

        assertEquals("rejected by the listener", thrown.getMessage());
        assertFalse(scanner.atBoundary());
        assertEquals(1, whole.refCnt(), "the scanner neither releases nor retains the buffer");
        whole.release();
    }

    @Test
    void isNotAtABoundaryInsideAPacketOrBetweenAFullPacketAndItsContinuation() {
        PacketScanner scanner = new PacketScanner(4);
        PacketScanner.Listener any = (seq, length, b, index, available) -> true;
        ByteBuf header = Unpooled.wrappedBuffer(TestPackets.bytes(0xFF, 0xFF, 0xFF, 0x04));
        ByteBuf head = Unpooled.wrappedBuffer(new byte[8]);

        assertTrue(scanner.atBoundary());
        scanner.scan(header, any);
        assertFalse(scanner.atBoundary(), "header seen, head bytes missing");
        scanner.scan(head, any);
        assertFalse(scanner.atBoundary(), "inside the payload");
        header.release();
        head.release();
    }

    @Test
    void refusesAHeadOfNoBytes() {
        assertThrows(IllegalArgumentException.class, () -> new PacketScanner(0));
    }

    /**
     * Scans {@code stream} in chunks ending at {@code cuts} (and at its end), checking at every cut that the scanner
     * is at a boundary exactly when the cut falls between two messages, and that no buffer's indices move.
     */
    private static List<Message> scan(ServerStream stream, int headBytes, int... cuts) {
        Recorder recorder = new Recorder(headBytes);
        PacketScanner scanner = new PacketScanner(headBytes);
        int from = 0;
        int[] ends = Arrays.copyOf(cuts, cuts.length + 1);
        ends[cuts.length] = stream.bytes().length;
        for (int end : ends) {
            ByteBuf chunk = Unpooled.wrappedBuffer(stream.bytes(), from, end - from);
            try {
                assertTrue(scanner.scan(chunk, recorder));
                assertEquals(0, chunk.readerIndex());
                assertEquals(end - from, chunk.writerIndex());
            } finally {
                chunk.release();
            }
            assertEquals(stream.messageBoundaries.contains(end), scanner.atBoundary(), "at boundary after " + end);
            from = end;
        }
        return recorder.messages;
    }

    /** Records each message and checks the scanner's promise about head bytes. */
    private static final class Recorder implements PacketScanner.Listener {
        private final int headBytes;
        private final List<Message> messages = new ArrayList<>();

        Recorder(int headBytes) {
            this.headBytes = headBytes;
        }

        @Override
        public boolean onMessage(int sequenceId, int payloadLength, ByteBuf buf, int index, int available) {
            int head = Math.min(payloadLength, headBytes);
            assertTrue(available >= head, "only " + available + " of " + head + " head bytes available");
            byte[] bytes = new byte[head];
            buf.getBytes(index, bytes);
            messages.add(new Message(sequenceId, payloadLength, hex(bytes)));
            return true;
        }
    }

    /** A text row of {@code size} bytes: one string whose length needs the 9-byte lenenc form. */
    private static byte[] longTextRow(int size) {
        byte[] row = TestPackets.pattern(size);
        byte[] length = payload().lenenc(size - 9L).build();
        System.arraycopy(length, 0, row, 0, length.length);
        return row;
    }

    /** A server stream built message by message, remembering where each message and packet starts. */
    private static final class ServerStream {
        private final List<byte[]> packets = new ArrayList<>();
        private final List<Message> starts = new ArrayList<>();
        private final Set<Integer> messageBoundaries = new HashSet<>(Set.of(0));
        private final List<Integer> packetBoundaries = new ArrayList<>();
        private int size;
        private byte[] bytes;

        /** Adds a message, split into physical packets at 0xFFFFFF bytes with increasing sequence ids. */
        ServerStream message(int sequenceId, byte[] payload) {
            starts.add(new Message(sequenceId, Math.min(payload.length, MAX), hex(Arrays.copyOf(payload, 64))));
            int seq = sequenceId;
            int at = 0;
            while (true) {
                int length = Math.min(MAX, payload.length - at);
                packets.add(TestPackets.frame(seq++, Arrays.copyOfRange(payload, at, at + length)));
                size += Packets.HEADER_SIZE + length;
                packetBoundaries.add(size);
                at += length;
                if (length < MAX) {
                    break;
                }
            }
            messageBoundaries.add(size);
            bytes = null;
            return this;
        }

        /** The whole stream as one array, joined on first use. */
        byte[] bytes() {
            if (bytes == null) {
                bytes = TestPackets.concat(packets.toArray(byte[][]::new));
                packets.clear();
                packets.add(bytes);
            }
            return bytes;
        }

        /** The messages a scanner with {@code headBytes} must report for the whole stream. */
        List<Message> expected(int headBytes) {
            return starts.stream()
                    .map(m -> new Message(m.sequenceId(), m.payloadLength(),
                            m.head().substring(0, 2 * Math.min(m.payloadLength(), headBytes))))
                    .toList();
        }
    }
}
