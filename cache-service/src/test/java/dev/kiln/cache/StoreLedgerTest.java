package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import java.util.List;
import org.junit.jupiter.api.Test;

class StoreLedgerTest {
  private static final Digest A = Digest.ofHex("a".repeat(64));
  private static final Digest B = Digest.ofHex("b".repeat(64));
  private static final Digest C = Digest.ofHex("c".repeat(64));

  @Test
  void evictsLeastRecentlyUsedFirstAndSkipsNamedBlobs() {
    StoreLedger ledger = new StoreLedger();
    ledger.add(A, 100, BlobReaders.PUBLIC);
    ledger.add(B, 100, BlobReaders.PUBLIC);
    ledger.add(C, 100, BlobReaders.PUBLIC);
    ledger.retain(List.of(A));
    ledger.touch(B);

    assertThat(ledger.evictionsToFit(50, 400)).contains(List.of());
    assertThat(ledger.evictionsToFit(50, 300)).contains(List.of(C));
    assertThat(ledger.evictionsToFit(150, 300)).contains(List.of(C, B));
    assertThat(ledger.evictionsToFit(250, 300)).isEmpty();

    ledger.release(List.of(A));
    assertThat(ledger.evictionsToFit(50, 300)).contains(List.of(A));
  }

  @Test
  void tenantBytesFollowReadersAndRemoval() {
    StoreLedger ledger = new StoreLedger();
    ledger.add(A, 100, BlobReaders.of(BlobScope.tenant("acme")));
    ledger.add(B, 50, BlobReaders.of(BlobScope.tenant("acme")).with(BlobScope.tenant("bob")));

    assertThat(ledger.tenantBytes("acme")).isEqualTo(150);
    assertThat(ledger.tenantBytes("bob")).isEqualTo(50);

    ledger.updateReaders(B, BlobReaders.of(BlobScope.tenant("acme")).with(BlobScope.PUBLIC));
    assertThat(ledger.tenantBytes("acme")).isEqualTo(100);
    assertThat(ledger.tenantBytes("bob")).isZero();

    ledger.remove(A);
    assertThat(ledger.tenantBytes("acme")).isZero();
    assertThat(ledger.totalBytes()).isEqualTo(50);
  }

  @Test
  void aBlobNamedTwiceStaysProtectedUntilBothResultsLetGo() {
    StoreLedger ledger = new StoreLedger();
    ledger.add(A, 10, BlobReaders.PUBLIC);
    ledger.retain(List.of(A));
    ledger.retain(List.of(A));
    ledger.release(List.of(A));

    assertThat(ledger.namedByAnAction(A)).isTrue();
    ledger.release(List.of(A));
    assertThat(ledger.namedByAnAction(A)).isFalse();
  }
}
