package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.frame;
import static dev.baton.protocol.TestPackets.query;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** KILL commands as clients send them, on real bytes: what is read, what is left alone, and the rewritten frame. */
class KillCommandTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "KILL 3000000007",
            "KILL QUERY 3000000007",
            "KILL CONNECTION 3000000007",
            "kill query 3000000007",
            "Kill Query 3000000007",
            "KILL HARD QUERY 3000000007",
            "KILL SOFT CONNECTION 3000000007",
            "KILL soft 3000000007",
            "  \t\nKILL\t\tQUERY\r\n 3000000007",
            "KILL QUERY 3000000007;",
            "KILL QUERY 3000000007 ; \n",
            "KILL QUERY 003000000007",
    })
    void readsTheConnectionIdOfAKillStatement(String sql) {
        KillCommand.Target target = find(query(sql));

        assertEquals(3_000_000_007L, target.connectionId(), sql);
        assertEquals(3_000_000_007L, Long.parseLong(sql.substring(target.from() - 1, target.to() - 1)), "where the id sits");
    }

    @Test
    void readsAMinusSignAsAnIdAClientTookForASignedInt() {
        KillCommand.Target target = find(query("KILL QUERY -1294967289")); // MariaDB Connector/J's form of 3000000007

        assertEquals(new KillCommand.Target(3_000_000_007L, 12, 23, false), target);
        assertEquals(0x8000_0000L, find(query("KILL -2147483648")).connectionId());
        assertNull(find(query("KILL -2147483649")), "no signed 32-bit int");
        assertNull(find(query("KILL -0")));
        assertNull(find(query("KILL - 5")));
        assertNull(find(query("KILL --5")));
    }

    @Test
    void rewritesTheSignedFormToThePlainThreadId() {
        byte[] payload = query("KILL QUERY -1294967289");
        ByteBuf in = Unpooled.wrappedBuffer(payload);

        ByteBuf out = KillCommand.rewrite(UnpooledByteBufAllocator.DEFAULT, 0, in, 0, payload.length,
                KillCommand.find(in, 0, payload.length), 42);
        try {
            assertArrayEquals(frame(0, query("KILL QUERY 42")), ByteBufUtil.getBytes(out));
        } finally {
            out.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "KILL QUERY ID 3000000007", // MariaDB: a query id, not a connection id
            "KILL USER app",
            "KILL QUERY HARD 3000000007", // HARD/SOFT come first in MariaDB's grammar; the server refuses this one
            "KILL /* cancel */ QUERY 3000000007", // comments are not read: the statement passes unchanged
            "/* cancel */ KILL QUERY 3000000007",
            "KILL QUERY 3000000007 -- cancel",
            "KILL QUERY 3000000007; SELECT 1",
            "KILL CONNECTION_ID()",
            "KILL 3000000007+1",
            "KILL QUERY",
            "KILL",
            "KILLQUERY 3000000007",
            "KILL QUERY3000000007",
            "KILL 'x'",
            "SELECT 'KILL 3000000007'",
            "KILL QUERY 1234567890123456789", // more digits than any connection id
    })
    void leavesAnythingElseAlone(String sql) {
        assertNull(find(query(sql)), sql);
    }

    @Test
    void readsComProcessKillsFourByteId() {
        KillCommand.Target target = find(bytes(0x0C, 0x07, 0x5E, 0xD0, 0xB2)); // 3000000007 little-endian

        assertEquals(new KillCommand.Target(3_000_000_007L, 1, 5, true), target);
    }

    @Test
    void leavesOtherCommandsAndMalformedProcessKillsAlone() {
        assertNull(find(bytes(0x0C, 0x07, 0x5E, 0xD0)), "COM_PROCESS_KILL with three id bytes");
        assertNull(find(bytes(0x0E)), "COM_PING");
        assertNull(find(bytes(0x16, 'K', 'I', 'L', 'L', ' ', '5')), "COM_STMT_PREPARE of a KILL: out of scope");
        assertNull(find(query("KILL QUERY " + " ".repeat(KillCommand.MAX_PAYLOAD) + "3000000007")), "longer than any KILL");
    }

    @Test
    void readsTheStatementWhereItStandsInALargerBuffer() {
        byte[] before = frame(0, query("SELECT 1"));
        byte[] framed = frame(0, query("KILL QUERY 3000000007"));
        ByteBuf buf = Unpooled.wrappedBuffer(TestPackets.concat(before, framed));
        int index = before.length + Packets.HEADER_SIZE;

        KillCommand.Target target = KillCommand.find(buf, index, framed.length - Packets.HEADER_SIZE);

        assertEquals(3_000_000_007L, target.connectionId());
        assertEquals(12, target.from());
    }

    @Test
    void rewritesTheStatementKeepingEverythingButTheNumber() {
        byte[] payload = query("kill  query\t3000000007 ;");
        ByteBuf in = Unpooled.wrappedBuffer(payload);
        KillCommand.Target target = KillCommand.find(in, 0, payload.length);

        ByteBuf out = KillCommand.rewrite(UnpooledByteBufAllocator.DEFAULT, 0, in, 0, payload.length, target, 42);
        try {
            assertArrayEquals(frame(0, query("kill  query\t42 ;")), ByteBufUtil.getBytes(out));
        } finally {
            out.release();
        }
    }

    @Test
    void rewritesComProcessKillWithTheSameSequenceId() {
        byte[] payload = bytes(0x0C, 0x07, 0x5E, 0xD0, 0xB2);
        ByteBuf in = Unpooled.wrappedBuffer(payload);

        ByteBuf out = KillCommand.rewrite(UnpooledByteBufAllocator.DEFAULT, 3, in, 0, payload.length,
                KillCommand.find(in, 0, payload.length), 0x01020304L);
        try {
            assertArrayEquals(frame(3, bytes(0x0C, 0x04, 0x03, 0x02, 0x01)), ByteBufUtil.getBytes(out));
        } finally {
            out.release();
        }
    }

    private static KillCommand.Target find(byte[] payload) {
        return KillCommand.find(Unpooled.wrappedBuffer(payload), 0, payload.length);
    }
}
