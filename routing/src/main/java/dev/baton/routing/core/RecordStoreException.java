package dev.baton.routing.core;

/**
 * The writer record could not be read or written through one node. {@code missing} says the table (or its
 * schema) does not exist there, which {@link WriterRecordStore#ensure} repairs; any other failure says nothing
 * about the record, and a write that failed this way may still have been applied.
 */
public final class RecordStoreException extends Exception {
    private final boolean missing;

    public RecordStoreException(String message, boolean missing, Throwable cause) {
        super(message, cause);
        this.missing = missing;
    }

    public boolean missing() {
        return missing;
    }
}
