package dev.baton.routing;

/**
 * What one Baton instance did with its sessions during a planned switchover's drain, as it recorded it in the
 * cluster: the instance that runs the switchover adds up every instance's report.
 *
 * @param instance         the reporting instance's name
 * @param epoch            the hand-over's epoch in the writer record
 * @param idle             sessions closed at once, between transactions
 * @param afterTransaction sessions closed right after their transaction ended (or ended by their client)
 * @param inTransaction    sessions still in a transaction at the deadline, closed then
 */
public record DrainReport(String instance, long epoch, int idle, int afterTransaction, int inTransaction) {
}
