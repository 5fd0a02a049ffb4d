package dev.baton.routing;

/**
 * What one Baton instance did with its sessions during a planned switchover's drain, as it recorded it in the
 * cluster: the instance that runs the switchover adds up every instance's report.
 *
 * @param instance         the reporting instance's name
 * @param epoch            the hand-over's epoch in the writer record
 * @param idle             sessions that left the old writer at once, between transactions
 * @param afterTransaction sessions that left it right after their transaction ended (or were ended by their client)
 * @param inTransaction    sessions still in a transaction at the deadline, closed then
 * @param moving           of the idle and after-transaction sessions, those that move to the new writer; the others
 *                         could not be moved and were closed
 */
public record DrainReport(String instance, long epoch, int idle, int afterTransaction, int inTransaction, int moving) {
}
