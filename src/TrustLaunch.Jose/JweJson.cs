using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TrustLaunch.Jose;

/// <summary>
/// JWE JSON serialization (RFC 7516 §7.2), content encryption A256GCM. Two writers: the general form as ocicrypt's
/// JWE key wrapper (go-jose) writes it (protected header <c>{"enc":"A256GCM"}</c>, one recipient per key), and the
/// flattened form Trustee's KBS sends (everything in the protected header, see <see cref="EncryptFlattened"/>).
/// Written on System.Security.Cryptography because JOSE libraries for .NET use reflection-based JSON or are not
/// trimming-safe, and the CLI is Native AOT.
/// </summary>
public static partial class JweJson
{
    public const string RsaOaep = "RSA-OAEP";
    public const string RsaOaep256 = "RSA-OAEP-256";
    public const string EcdhEsA256Kw = "ECDH-ES+A256KW";
    public const string A256Gcm = "A256GCM";

    // Header values are base64url and algorithm names: written as they are (a '+' stays '+'), so a reader that
    // re-serialises the header gets the same bytes.
    private static readonly JsonWriterOptions HeaderWriting = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Encrypts <paramref name="plaintext"/> to every recipient (RSA keys get <paramref name="rsaAlgorithm"/>,
    /// EC keys ECDH-ES+A256KW), general serialization.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, IReadOnlyList<Jwk> recipients, string rsaAlgorithm = RsaOaep)
    {
        if (recipients.Count == 0)
            throw new ArgumentException("at least one recipient is needed", nameof(recipients));
        if (rsaAlgorithm is not (RsaOaep or RsaOaep256))
            throw new ArgumentException($"RSA key management '{rsaAlgorithm}' is not RSA-OAEP or RSA-OAEP-256", nameof(rsaAlgorithm));
        var cek = RandomNumberGenerator.GetBytes(32);
        try
        {
            var protectedB64 = Base64UrlText.Encode("{\"enc\":\"A256GCM\"}"u8);
            var (iv, ciphertext, tag) = Seal(cek, plaintext, protectedB64);
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, HeaderWriting))
            {
                w.WriteStartObject();
                w.WriteString("protected", protectedB64);
                w.WriteStartArray("recipients");
                foreach (var recipient in recipients)
                {
                    var alg = recipient.KeyType == Jwk.Rsa ? rsaAlgorithm : EcdhEsA256Kw;
                    var wrapped = JweKeyManagement.Wrap(recipient, alg, cek);
                    w.WriteStartObject();
                    w.WriteStartObject("header");
                    w.WriteString("alg", alg);
                    if (wrapped.EphemeralKey is { } epk)
                    {
                        w.WritePropertyName("epk");
                        epk.WriteTo(w);
                    }
                    w.WriteEndObject();
                    w.WriteString("encrypted_key", Base64UrlText.Encode(wrapped.EncryptedKey));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                WriteContent(w, iv, ciphertext, tag);
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    /// <summary>
    /// Encrypts to one recipient, flattened serialization <c>{"protected","encrypted_key","iv","ciphertext","tag"}</c>
    /// with every header member protected. The protected header is written with <c>alg</c>, <c>enc</c> first, then
    /// the others sorted (<c>epk</c> with its members sorted): the bytes Trustee's KBS client re-serialises and
    /// authenticates as AAD, whatever the JWE says.
    /// </summary>
    /// <param name="algorithm">Key management; default: the recipient's <c>alg</c>, else <c>ECDH-ES+A256KW</c> for EC
    /// and <c>RSA-OAEP-256</c> for RSA keys.</param>
    public static string EncryptFlattened(ReadOnlySpan<byte> plaintext, Jwk recipient, string? algorithm = null)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var alg = algorithm ?? recipient.Algorithm ?? (recipient.KeyType == Jwk.Rsa ? RsaOaep256 : EcdhEsA256Kw);
        if (alg is not (RsaOaep256 or EcdhEsA256Kw))
            throw new ArgumentException($"JWE key management '{alg}' is not ECDH-ES+A256KW or RSA-OAEP-256", nameof(algorithm));
        var cek = RandomNumberGenerator.GetBytes(32);
        try
        {
            var wrapped = JweKeyManagement.Wrap(recipient, alg, cek);
            using var header = new MemoryStream();
            using (var w = new Utf8JsonWriter(header, HeaderWriting))
            {
                w.WriteStartObject();
                w.WriteString("alg", alg);
                w.WriteString("enc", A256Gcm);
                if (wrapped.EphemeralKey is { } epk)
                {
                    w.WritePropertyName("epk");
                    epk.WriteTo(w);
                }
                w.WriteEndObject();
            }
            var protectedB64 = Base64UrlText.Encode(header.ToArray());
            var (iv, ciphertext, tag) = Seal(cek, plaintext, protectedB64);
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, HeaderWriting))
            {
                w.WriteStartObject();
                w.WriteString("protected", protectedB64);
                w.WriteString("encrypted_key", Base64UrlText.Encode(wrapped.EncryptedKey));
                WriteContent(w, iv, ciphertext, tag);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    private static (byte[] Iv, byte[] Ciphertext, byte[] Tag) Seal(byte[] cek, ReadOnlySpan<byte> plaintext, string aad)
    {
        var iv = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using var gcm = new AesGcm(cek, 16);
        gcm.Encrypt(iv, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(aad));
        return (iv, ciphertext, tag);
    }

    private static void WriteContent(Utf8JsonWriter w, byte[] iv, byte[] ciphertext, byte[] tag)
    {
        w.WriteString("iv", Base64UrlText.Encode(iv));
        w.WriteString("ciphertext", Base64UrlText.Encode(ciphertext));
        w.WriteString("tag", Base64UrlText.Encode(tag));
    }
}
