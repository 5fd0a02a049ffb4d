package dev.baton.protocol;

import io.netty.handler.codec.DecoderException;

/** The one exception of this package: bytes that do not form the packet the protocol expects at this point. */
public final class MalformedPacketException extends DecoderException {
    public MalformedPacketException(String message) {
        super(message);
    }
}
