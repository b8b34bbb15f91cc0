package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;

class BlobReadersTest {
  @Test
  void aTenantBlobIsReadableForItsTenantsOnlyAndChargedToThem() {
    BlobReaders readers = BlobReaders.of(BlobScope.tenant("acme")).with(BlobScope.tenant("bob"));

    assertThat(readers.readableBy("acme")).isTrue();
    assertThat(readers.readableBy("bob")).isTrue();
    assertThat(readers.readableBy("eve")).isFalse();
    assertThat(readers.readableBy(null)).isFalse();
    assertThat(readers.chargedTo()).containsExactlyInAnyOrder("acme", "bob");
  }

  @Test
  void publicWinsAndIsChargedToNoOne() {
    BlobReaders readers = BlobReaders.of(BlobScope.tenant("acme")).with(BlobScope.PUBLIC);

    assertThat(readers.readableBy("eve")).isTrue();
    assertThat(readers.readableBy(null)).isTrue();
    assertThat(readers.chargedTo()).isEmpty();
    assertThat(readers.tenants()).containsExactly("acme");
  }

  @Test
  void encodingRoundTripsAndIgnoresWhatItDoesNotKnow() {
    BlobReaders readers = new BlobReaders(false, Set.of("bob", "acme"));

    assertThat(readers.encode()).isEqualTo("tenant acme\ntenant bob\n");
    assertThat(BlobReaders.decode(readers.encode())).isEqualTo(readers);
    assertThat(BlobReaders.decode("public\n")).isEqualTo(BlobReaders.PUBLIC);
    assertThat(BlobReaders.decode("tenant ../x\nowner acme\ntenant ok\n"))
        .isEqualTo(new BlobReaders(false, Set.of("ok")));
  }

  @Test
  void scopeHeadersAreCheckedWithMessagesThatSayWhatToSend() {
    assertThat(BlobScope.fromHeaders("public", null, "PUT /cas/x")).isEqualTo(BlobScope.PUBLIC);
    assertThat(BlobScope.fromHeaders(" Tenant ", "acme", "PUT /cas/x"))
        .isEqualTo(BlobScope.tenant("acme"));
    assertThatThrownBy(() -> BlobScope.fromHeaders(null, "acme", "PUT /cas/x"))
        .hasMessageContaining("needs X-Kiln-Scope: public")
        .hasMessageContaining("got none");
    assertThatThrownBy(() -> BlobScope.fromHeaders("tenant", null, "PUT /ac/k"))
        .hasMessageContaining("send X-Kiln-Tenant");
    assertThatThrownBy(() -> BlobScope.tenant("../etc"))
        .hasMessageContaining("is not a tenant name");
  }
}
