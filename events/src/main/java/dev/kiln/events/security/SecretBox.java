package dev.kiln.events.security;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals small secrets (index passwords) with AES-256-GCM so they can sit in a topic: {@code
 * v1:<base64(12-byte nonce || ciphertext+tag)>}. The additional data binds a sealed value to where
 * it belongs (e.g. {@code kiln-tenant-secret/acme/private}), so it cannot be copied into another
 * tenant's record and opened there.
 */
public final class SecretBox {
  public static final String PREFIX = "v1:";
  private static final int KEY_BYTES = 32;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;

  /**
   * @param key 32 bytes (AES-256)
   */
  public SecretBox(byte[] key) {
    if (key == null || key.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          "the secret key must be "
              + KEY_BYTES
              + " bytes (base64 of 32 random bytes, e.g. `head -c32 /dev/urandom | base64`), got "
              + (key == null ? "none" : key.length + " bytes"));
    }
    this.key = new SecretKeySpec(Arrays.copyOf(key, KEY_BYTES), "AES");
  }

  /**
   * A box for a base64 key, as {@code KILN_SECRET_KEY} and {@code <home>/secrets/secret-key} hold
   * it.
   */
  public static SecretBox fromBase64(String base64Key) {
    byte[] key;
    try {
      key = Base64.getDecoder().decode(base64Key.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the secret key is not base64; it must be base64 of 32 random bytes", e);
    }
    return new SecretBox(key);
  }

  /** A new random key in base64. */
  public static String newKeyBase64() {
    byte[] key = new byte[KEY_BYTES];
    RANDOM.nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  public String seal(String aad, String plaintext) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(aad.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
      return PREFIX
          + Base64.getEncoder()
              .encodeToString(
                  ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is not available in this JDK", e);
    }
  }

  /**
   * The plaintext of a sealed value.
   *
   * @throws IllegalArgumentException when it is not a sealed value, was sealed with another key or
   *     for another place ({@code aad}), or was changed
   */
  public String open(String aad, String sealed) {
    if (sealed == null || !sealed.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a sealed secret (expected '" + PREFIX + "…')");
    }
    byte[] all;
    try {
      all = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a sealed secret is not base64", e);
    }
    if (all.length < NONCE_BYTES + TAG_BITS / 8) {
      throw new IllegalArgumentException("a sealed secret is too short");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, all, 0, NONCE_BYTES));
      cipher.updateAAD(aad.getBytes(StandardCharsets.UTF_8));
      return new String(
          cipher.doFinal(all, NONCE_BYTES, all.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (AEADBadTagException e) {
      throw new IllegalArgumentException(
          "a sealed secret does not open with this key for " + aad + " (other key, or changed)", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is not available in this JDK", e);
    }
  }

  /** The additional data a tenant's index password is sealed with. */
  public static String tenantSecretAad(String tenant, String indexName) {
    return "kiln-tenant-secret/" + tenant + "/" + indexName;
  }

  /**
   * The additional data an app's webhook secret is sealed with: another app's (or tenant's) sealed
   * secret does not open here.
   */
  public static String webhookSecretAad(String tenant, String app) {
    return "kiln-webhook-secret/" + tenant + "/" + app;
  }
}
