package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HexFormat;

import static dev.baton.protocol.MariaDbSessionPackets.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link ResponseStatus#hideSessionState} must turn MariaDB's tracked OK into the very bytes it sends a plain client. */
class HideSessionStateTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "SET @x=1, " + TRACKED_SET_USER_VARIABLE + ", " + PLAIN_SET_USER_VARIABLE,
            "PREPARE keeps its info, " + TRACKED_PREPARE + ", " + PLAIN_PREPARE,
            "0xFE OK ending SET STATEMENT, " + TRACKED_SET_STATEMENT_END + ", " + PLAIN_SET_STATEMENT_END,
            "USE d1, " + TRACKED_USE + ", " + PLAIN_USE,
            "SET @x=1 autocommit=0, " + TRACKED_USER_VARIABLE_AND_AUTOCOMMIT + ", " + PLAIN_USER_VARIABLE_AND_AUTOCOMMIT,
            "SET NAMES latin1, " + TRACKED_SET_NAMES + ", " + PLAIN_SET_NAMES,
            "optimizer_switch with two-byte lengths, " + TRACKED_OPTIMIZER_SWITCH + ", " + PLAIN_OPTIMIZER_SWITCH,
    })
    void givesAClientWithoutSessionTrackWhatMariaDbSendsIt(String statement, String tracked, String plain) {
        ByteBuf buf = packet(tracked);
        try {
            int length = ResponseStatus.hideSessionState(buf, 0);

            assertEquals(plain, HexFormat.of().formatHex(ByteBufUtil.getBytes(buf, 0, 4 + length)));
        } finally {
            buf.release();
        }
    }

    @Test
    void rewritesAPacketInTheMiddleOfABufferWithoutTouchingItsNeighbours() {
        ByteBuf buf = packet(TRACKED_DO + TRACKED_PREPARE + TRACKED_DO);
        try {
            int at = TRACKED_DO.length() / 2;
            int length = ResponseStatus.hideSessionState(buf, at);

            assertEquals(TRACKED_DO + PLAIN_PREPARE, HexFormat.of().formatHex(ByteBufUtil.getBytes(buf, 0, at + 4 + length)));
            assertEquals(TRACKED_DO, HexFormat.of().formatHex(ByteBufUtil.getBytes(buf, buf.writerIndex() - 11, 11)));
        } finally {
            buf.release();
        }
    }

    @Test
    void leavesAnOkWithoutSessionStateAsItIs() {
        ByteBuf buf = packet(TRACKED_DO);
        try {
            assertEquals(7, ResponseStatus.hideSessionState(buf, 0));
            assertEquals(TRACKED_DO, HexFormat.of().formatHex(ByteBufUtil.getBytes(buf, 0, 11)));
        } finally {
            buf.release();
        }
    }

    @Test
    void refusesAnInfoLongerThanThePacket() {
        ByteBuf buf = packet(TRACKED_PREPARE);
        try {
            buf.setByte(4 + 7, 0x40);

            assertThrows(MalformedPacketException.class, () -> ResponseStatus.hideSessionState(buf, 0));
        } finally {
            buf.release();
        }
    }

    @Test
    void refusesAPacketThatIsNotWholeInTheBuffer() {
        ByteBuf buf = packet(TRACKED_PREPARE).writerIndex(20);
        try {
            assertThrows(IllegalArgumentException.class, () -> ResponseStatus.hideSessionState(buf, 0));
        } finally {
            buf.release();
        }
    }
}
