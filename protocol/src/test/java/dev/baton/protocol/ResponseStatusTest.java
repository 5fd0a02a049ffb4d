package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.StatusFlags.SERVER_SESSION_STATE_CHANGED;
import static dev.baton.protocol.StatusFlags.SERVER_STATUS_AUTOCOMMIT;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ResponseStatusTest {
    private static final int CHANGED = SERVER_STATUS_AUTOCOMMIT | SERVER_SESSION_STATE_CHANGED;

    @Test
    void readsTheSchemaOfAWholeOkWithSessionState() {
        ByteBuf ok = Unpooled.wrappedBuffer(okWithSchema("x".repeat(600), "analytics"));
        try {
            int length = ok.readableBytes();

            assertEquals("analytics", ResponseStatus.trackedSchema(ok, 0, length, length, CLIENT_SESSION_TRACK));
        } finally {
            ok.release();
        }
    }

    @Test
    void knowsNoSchemaWhenTheSessionStateLiesBeyondTheBytesShown() {
        ByteBuf ok = Unpooled.wrappedBuffer(okWithSchema("x".repeat(600), "analytics"));
        try {
            int length = ok.readableBytes();

            assertNull(ResponseStatus.trackedSchema(ok, 0, 512, length, CLIENT_SESSION_TRACK));
            assertEquals(CHANGED, ResponseStatus.okStatus(ok, 0, 512, length));
        } finally {
            ok.release();
        }
    }

    @Test
    void knowsNoStatusWhenItLiesBeyondTheBytesShownOfALongerPacket() {
        ByteBuf ok = Unpooled.wrappedBuffer(okWithSchema("", "analytics"));
        try {
            assertEquals(-1, ResponseStatus.okStatus(ok, 0, 2, ok.readableBytes()));
        } finally {
            ok.release();
        }
    }

    @Test
    void refusesASessionStateLongerThanThePacketEvenWhenOnlyItsHeadIsShown() {
        byte[] whole = okWithSchema("", "analytics");
        ByteBuf head = Unpooled.wrappedBuffer(whole, 0, whole.length - 4); // the packet ends four bytes early
        try {
            int length = head.readableBytes();

            MalformedPacketException e = assertThrows(MalformedPacketException.class,
                    () -> ResponseStatus.trackedSchema(head, 0, 10, length, CLIENT_SESSION_TRACK));
            assertEquals("OK packet: session state length 12 exceeds the 8 bytes left", e.getMessage());
        } finally {
            head.release();
        }
    }

    private static byte[] okWithSchema(String info, String schema) {
        byte[] name = payload().lenencString(schema).build();
        byte[] change = payload().int1(1).lenenc(name.length).bytes(name).build();
        return payload().int1(0).lenenc(0).lenenc(0).int2(CHANGED).int2(0).lenencString(info)
                .lenenc(change.length).bytes(change).build();
    }
}
