using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrustLaunch.Jose.Tests;

public sealed class JweJsonTests
{
    private static readonly byte[] Secret = "the resource: a 32-byte image key and more"u8.ToArray();

    [Fact]
    public void Decrypt_Rfc7516AppendixA1AsFlattenedJson_GivesPublishedPlaintext()
    {
        var p = Rfc7516A1.Compact.Split('.');
        var flattened = $$"""{"protected":"{{p[0]}}","encrypted_key":"{{p[1]}}","iv":"{{p[2]}}","ciphertext":"{{p[3]}}","tag":"{{p[4]}}"}""";
        using var key = JweDecryptionKey.FromRsa(Rfc7516A1.Key());

        var plaintext = JweJson.Decrypt(Encoding.UTF8.GetBytes(flattened), key);

        Assert.Equal("The true sign of intelligence is not knowledge but imagination.", Encoding.UTF8.GetString(plaintext));
    }

    public static TheoryData<string> KeyKinds() => ["p256", "rsa"];

    private static JweDecryptionKey NewKey(string kind) => kind == "rsa" ? JweDecryptionKey.FromRsa(RSA.Create(2048)) : JweDecryptionKey.CreateP256();

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public void EncryptFlattened_ToPublicJwk_DecryptsWithThePrivateKey(string kind)
    {
        using var key = NewKey(kind);
        var recipient = Jwk.Parse(Encoding.UTF8.GetBytes(key.PublicJwk.ToJson()));

        var jwe = JweJson.EncryptFlattened(Secret, recipient);

        using var doc = JsonDocument.Parse(jwe);
        Assert.Equal(["protected", "encrypted_key", "iv", "ciphertext", "tag"], doc.RootElement.EnumerateObject().Select(m => m.Name));
        Assert.Equal(Secret, JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe), key));
    }

    [Fact]
    public void EncryptFlattened_EcRecipient_ProtectedHeaderIsWhatTrusteesClientReserialises()
    {
        using var key = JweDecryptionKey.CreateP256();
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        var protectedB64 = jwe["protected"]!.GetValue<string>();
        var header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(protectedB64));

        Assert.Matches("""^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[A-Za-z0-9_-]{43}","y":"[A-Za-z0-9_-]{43}"\}\}$""", header);
        Assert.Equal(protectedB64, Base64Url.EncodeToString(Encoding.UTF8.GetBytes(TrusteeReserialise(header))));
    }

    [Fact]
    public void EncryptFlattened_RsaRecipient_HeaderAlgThenEnc()
    {
        using var key = NewKey("rsa");
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        Assert.Equal("""{"alg":"RSA-OAEP-256","enc":"A256GCM"}""", Encoding.UTF8.GetString(Base64Url.DecodeFromChars(jwe["protected"]!.GetValue<string>())));
    }

    [Fact]
    public void EncryptFlattened_UnsupportedAlgorithm_Refused()
    {
        using var key = NewKey("rsa");
        var e = Assert.Throws<ArgumentException>(() => JweJson.EncryptFlattened(Secret, key.PublicJwk with { Algorithm = "RSA1_5" }));
        Assert.StartsWith("JWE key management 'RSA1_5' is not ECDH-ES+A256KW or RSA-OAEP-256", e.Message);
    }

    public static TheoryData<string, string> Tampering() => new()
    {
        { "p256", "ciphertext" }, { "p256", "tag" }, { "p256", "iv" }, { "p256", "protected" },
        { "rsa", "ciphertext" }, { "rsa", "tag" }, { "rsa", "protected" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public void Decrypt_TamperedMember_RefusedAsTagMismatch(string kind, string member)
    {
        using var key = NewKey(kind);
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        if (member == "protected")
        {
            // Re-encoded with the same members but another layout: still a valid header, no longer the AAD.
            var header = JsonNode.Parse(Base64Url.DecodeFromChars(jwe["protected"]!.GetValue<string>()))!;
            jwe["protected"] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
        }
        else
            jwe[member] = FlipFirstBit(jwe[member]!.GetValue<string>());

        var e = Assert.Throws<CryptographicException>(() => JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe.ToJsonString()), key));
        Assert.Equal("JWE authentication tag mismatch: the ciphertext, tag, IV or protected header was modified", e.Message);
    }

    [Theory]
    [MemberData(nameof(KeyKinds))]
    public void Decrypt_TamperedEncryptedKey_Refused(string kind)
    {
        using var key = NewKey(kind);
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        jwe["encrypted_key"] = FlipFirstBit(jwe["encrypted_key"]!.GetValue<string>());
        var e = Assert.Throws<CryptographicException>(() => JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe.ToJsonString()), key));
        Assert.Equal("JWE does not open with this key: not addressed to it, or its encrypted_key was modified", e.Message);
    }

    [Fact]
    public void Decrypt_OtherKey_Refused()
    {
        using var key = NewKey("p256");
        using var other = NewKey("p256");
        var jwe = Encoding.UTF8.GetBytes(JweJson.EncryptFlattened(Secret, key.PublicJwk));
        Assert.Null(JweJson.TryDecrypt(jwe, other));
        Assert.Equal("JWE does not open with this key: not addressed to it, or its encrypted_key was modified",
            Assert.Throws<CryptographicException>(() => JweJson.Decrypt(jwe, other)).Message);
    }

    [Fact]
    public void Decrypt_HeaderInTwoSets_Refused()
    {
        using var key = NewKey("p256");
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        jwe["header"] = new JsonObject { ["alg"] = "RSA-OAEP" };
        var e = Assert.Throws<FormatException>(() => JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe.ToJsonString()), key));
        Assert.Equal("JWE header 'alg' appears in more than one header set", e.Message);
    }

    [Theory]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A128GCM"}""", "JWE content encryption 'A128GCM' is not A256GCM")]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A256GCM","zip":"DEF"}""", "JWE compression 'DEF' is not supported")]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A256GCM","crit":["x"],"x":1}""", "JWE header has 'crit' extensions, none are understood")]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A256GCM"}""", "ECDH-ES recipient has no 'epk' object")]
    [InlineData("""{"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}""", "ECDH-ES 'epk': JWK member 'x' is 1 bytes, the curve needs 32")]
    public void Decrypt_UnsupportedOrMalformedHeader_Refused(string header, string message)
    {
        using var key = NewKey("p256");
        var jwe = $$"""{"protected":"{{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header))}}","encrypted_key":"AAAA","iv":"AAAAAAAAAAAAAAAA","ciphertext":"","tag":"AAAAAAAAAAAAAAAAAAAAAA"}""";
        Assert.Equal(message, Assert.Throws<FormatException>(() => JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe), key)).Message);
    }

    [Fact]
    public void Decrypt_ShortIv_Refused()
    {
        using var key = NewKey("p256");
        var jwe = JsonNode.Parse(JweJson.EncryptFlattened(Secret, key.PublicJwk))!;
        jwe["iv"] = "AAAA";
        Assert.Equal("JWE 'iv' of 3 bytes or 'tag' of 16 bytes is not the 12 and 16 A256GCM uses",
            Assert.Throws<FormatException>(() => JweJson.Decrypt(Encoding.UTF8.GetBytes(jwe.ToJsonString()), key)).Message);
    }

    [Fact]
    public void Encrypt_GeneralFormToEcAndRsa_EachKeyDecrypts()
    {
        using var ec = NewKey("p256");
        using var rsa = NewKey("rsa");
        var jwe = JweJson.Encrypt(Secret, [ec.PublicJwk, rsa.PublicJwk], JweJson.RsaOaep256);
        Assert.Equal(Secret, JweJson.Decrypt(jwe, ec));
        Assert.Equal(Secret, JweJson.Decrypt(jwe, rsa));
        Assert.Equal(2, JsonNode.Parse(jwe)!["recipients"]!.AsArray().Count);
    }

    private static string FlipFirstBit(string b64) =>
        Base64Url.EncodeToString(Base64Url.DecodeFromChars(b64).Select((b, i) => i == 0 ? (byte)(b ^ 0x80) : b).ToArray());

    /// <summary>What Trustee's client authenticates: the parsed header written back with alg, enc first, then the
    /// other members sorted (serde_json maps), compact, no escaping beyond JSON's.</summary>
    private static string TrusteeReserialise(string header)
    {
        var o = JsonNode.Parse(header)!.AsObject();
        var sb = new StringBuilder("{");
        sb.Append($"\"alg\":{o["alg"]!.ToJsonString()},\"enc\":{o["enc"]!.ToJsonString()}");
        foreach (var (name, value) in o.Where(m => m.Key is not ("alg" or "enc")).OrderBy(m => m.Key, StringComparer.Ordinal))
            sb.Append($",\"{name}\":{Sorted(value!)}");
        return sb.Append('}').ToString().Replace("\\u002B", "+", StringComparison.Ordinal);

        static string Sorted(JsonNode node) => node is JsonObject obj
            ? "{" + string.Join(",", obj.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"\"{m.Key}\":{Sorted(m.Value!)}")) + "}"
            : node.ToJsonString();
    }
}
