using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Kbs.Tests.Secrets;

public sealed class SealedSecretTests : IDisposable
{
    private const string Kid = "publisher";
    private const string KekUri = "kbs:///default/kek/app";
    private static readonly byte[] Value = "db-password-42"u8.ToArray();

    private readonly TokenSigner _signer = new();
    private readonly TokenSigner _otherKey = new();
    private readonly byte[] _kek = RandomNumberGenerator.GetBytes(32);
    private readonly SealedSecretSigners _signers;

    public SealedSecretTests()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(_signer.PublicKeyPem());
        _signers = new SealedSecretSigners(new Dictionary<string, ECDsa> { [Kid] = key });
    }

    public void Dispose()
    {
        _signers.Dispose();
        _signer.Dispose();
        _otherKey.Dispose();
    }

    private Task<byte[]> Broker(string uri, CancellationToken _) => Task.FromResult(uri switch
    {
        KekUri => _kek.ToArray(),
        "kbs:///default/secret/db" => Value.ToArray(),
        _ => throw new InvalidOperationException($"no resource {uri}"),
    });

    private string Envelope() => SealedSecret.SealEnvelope(Value, _kek, KekUri, _signer, Kid);

    private static JsonObject PayloadOf(string sealedText) =>
        JsonNode.Parse(Jws.Parse(sealedText[SealedSecret.Prefix.Length..]).Payload)!.AsObject();

    private string Resign(JsonObject payload, IPayloadSigner? signer = null, string kid = Kid) =>
        SealedSecret.Prefix + Jws.SignCompact(Encoding.UTF8.GetBytes(payload.ToJsonString()), signer ?? _signer, null, kid);

    private SealedSecretException Refused(string text) => Assert.Throws<SealedSecretException>(() => SealedSecret.Open(text, _signers));

    [Fact]
    public async Task Envelope_SealedThenOpened_YieldsTheValueThroughTheKek()
    {
        var text = Envelope();
        var secret = SealedSecret.Open(text, _signers);
        Assert.Equal((Kid, KekUri), (secret.Kid, secret.ResourceUri));
        Assert.Equal(Value, await secret.UnsealAsync(Broker, CancellationToken.None));
        var payload = PayloadOf(text);
        Assert.Equal(("0.1.0", "envelope", "kbs", "A256GCM"), ((string?)payload["version"], (string?)payload["type"], (string?)payload["provider"], (string?)payload["wrap_type"]));
        Assert.Equal("{\"alg\":\"ES256\",\"kid\":\"publisher\"}", Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text.Split('.')[1])));
    }

    [Fact]
    public async Task Vault_SealedThenOpened_YieldsTheResource()
    {
        var text = SealedSecret.SealVault("kbs:///default/secret/db", _signer, Kid);
        var secret = SealedSecret.Open(text, _signers);
        Assert.IsType<VaultSecret>(secret.Payload);
        Assert.Equal(Value, await secret.UnsealAsync(Broker, CancellationToken.None));
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), secret.Digest);
    }

    [Fact]
    public void Open_NotSealedPrefixed_Refused() =>
        Assert.Equal("sealed secret does not start with 'sealed.'", Refused(Envelope()[SealedSecret.Prefix.Length..]).Message);

    [Fact]
    public void Open_Oversized_Refused() =>
        Assert.Equal("sealed secret is over 262144 characters", Refused(SealedSecret.Prefix + new string('A', SealedSecret.MaxLength)).Message);

    [Fact]
    public void Open_BadBase64_Refused() =>
        Assert.Equal("sealed secret is not a JWS: compact JWS part is not base64url", Refused("sealed.e30.!!!.AAAA").Message);

    [Fact]
    public void Open_NotThreeParts_Refused() =>
        Assert.Equal("sealed secret is not a JWS: compact JWS has 2 parts, expected 3", Refused("sealed.e30.e30").Message);

    [Fact]
    public void Open_HeaderNotJson_Refused() =>
        Assert.StartsWith("sealed secret is not a JWS: JWS header is not JSON: ", Refused("sealed." + Base64Url.EncodeToString("{alg"u8) + ".e30.AAAA").Message);

    [Fact]
    public void Open_PayloadNotJson_Refused()
    {
        var text = SealedSecret.Prefix + Jws.SignCompact("not json"u8, _signer, null, Kid);
        Assert.StartsWith("sealed secret payload is not JSON: ", Refused(text).Message);
    }

    [Theory]
    [InlineData("HS256", "sealed secret is signed HS256; only ES256 is accepted")]
    [InlineData("none", "sealed secret is signed none; only ES256 is accepted")]
    [InlineData("RS256", "sealed secret is signed RS256; only ES256 is accepted")]
    public void Open_AlgorithmOtherThanEs256_Refused(string alg, string message)
    {
        var parts = Envelope().Split('.');
        parts[1] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{{\"alg\":\"{alg}\",\"kid\":\"{Kid}\"}}"));
        Assert.Equal(message, Refused(string.Join('.', parts)).Message);
    }

    [Fact]
    public void Open_NoKid_Refused()
    {
        var parts = Envelope().Split('.');
        parts[1] = Base64Url.EncodeToString("{\"alg\":\"ES256\"}"u8);
        Assert.Equal("sealed secret's JWS header names no 'kid'", Refused(string.Join('.', parts)).Message);
    }

    [Fact]
    public void Open_UnknownKid_Refused() =>
        Assert.Equal("sealed secret is signed by kid 'stranger', which is not a trusted signer",
            Refused(SealedSecret.SealEnvelope(Value, _kek, KekUri, _signer, "stranger")).Message);

    [Fact]
    public void Open_KidNotPrintable_Refused() =>
        Assert.Equal("sealed secret's kid is not 1-128 letters, digits or '.', '_', ':', '/', '-'",
            Refused(Resign(PayloadOf(Envelope()), kid: "pub\nlisher")).Message);

    [Fact]
    public void Open_SignedByAnotherKeyUnderATrustedKid_Refused() =>
        Assert.Equal("sealed secret's signature does not verify under kid 'publisher'",
            Refused(SealedSecret.SealEnvelope(Value, _kek, KekUri, _otherKey, Kid)).Message);

    [Fact]
    public void Open_TamperedPayload_Refused()
    {
        var parts = Envelope().Split('.');
        var payload = PayloadOf(Envelope());
        payload["key_id"] = "kbs:///default/kek/attacker";
        parts[2] = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        Assert.Equal("sealed secret's signature does not verify under kid 'publisher'", Refused(string.Join('.', parts)).Message);
    }

    [Theory]
    [InlineData("version", "0.2.0", "sealed secret version '0.2.0' is not supported (expected 0.1.0)")]
    [InlineData("type", "plain", "sealed secret type 'plain' is not supported (expected vault or envelope)")]
    [InlineData("provider", "aliyun", "sealed secret provider 'aliyun' is not supported (expected kbs)")]
    [InlineData("wrap_type", "A128GCM", "sealed secret wrap_type 'A128GCM' is not supported (expected A256GCM)")]
    [InlineData("key_id", "https://kbs/x", "sealed secret 'key_id' is not a resource URI: resource URI 'https://kbs/x' does not start with kbs://")]
    [InlineData("iv", "not base64!", "sealed secret 'iv' is not base64")]
    [InlineData("surprise", "x", "sealed secret payload of type envelope has an unknown member 'surprise'")]
    public void Open_SignedButUnsupportedPayload_Refused(string member, string value, string message)
    {
        var payload = PayloadOf(Envelope());
        payload[member] = value;
        Assert.Equal(message, Refused(Resign(payload)).Message);
    }

    [Fact]
    public async Task Unseal_WrongKek_RefusedAtUnwrap()
    {
        var secret = SealedSecret.Open(Envelope(), _signers);
        var e = await Assert.ThrowsAsync<SealedSecretException>(() =>
            secret.UnsealAsync((_, _) => Task.FromResult(RandomNumberGenerator.GetBytes(32)), CancellationToken.None));
        Assert.Equal("sealed secret's data key does not unwrap under KEK 'kbs:///default/kek/app'", e.Message);
    }

    [Fact]
    public async Task Unseal_KekNot32Bytes_Refused()
    {
        var secret = SealedSecret.Open(Envelope(), _signers);
        var e = await Assert.ThrowsAsync<SealedSecretException>(() =>
            secret.UnsealAsync((_, _) => Task.FromResult(new byte[16]), CancellationToken.None));
        Assert.Equal("sealed secret KEK 'kbs:///default/kek/app' is 16 bytes, expected 32", e.Message);
    }

    [Fact]
    public async Task Unseal_EncryptedDataAltered_RefusedAtGcmTag()
    {
        var payload = PayloadOf(Envelope());
        var data = Convert.FromBase64String((string)payload["encrypted_data"]!);
        data[0] ^= 1;
        payload["encrypted_data"] = Convert.ToBase64String(data);
        var secret = SealedSecret.Open(Resign(payload), _signers);
        var e = await Assert.ThrowsAsync<SealedSecretException>(() => secret.UnsealAsync(Broker, CancellationToken.None));
        Assert.Equal("sealed secret's encrypted_data does not decrypt: AES-256-GCM tag mismatch", e.Message);
    }

    [Fact]
    public void Seal_NotEs256Key_Refused()
    {
        using var rsa = RSA.Create(2048);
        var e = Assert.Throws<SealedSecretException>(() => SealedSecret.SealVault("kbs:///a/b/c", new RsaSigner(rsa), Kid));
        Assert.Equal("sealed secrets are signed ES256; this key signs RS256", e.Message);
    }

    [Fact]
    public void Signers_Load_DirectoryOfKidPem()
    {
        var dir = Directory.CreateTempSubdirectory("tl-signers-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "team-a.pem"), _signer.PublicKeyPem());
            using var signers = SealedSecretSigners.Load(dir.FullName);
            Assert.Equal(["team-a"], signers.Kids);
            Assert.Equal("team-a", SealedSecret.Open(SealedSecret.SealVault("kbs:///a/b/c", _signer, "team-a"), signers).Kid);
            using var rsa = RSA.Create(2048);
            File.WriteAllText(Path.Combine(dir.FullName, "rsa.pem"), rsa.ExportSubjectPublicKeyInfoPem());
            Assert.StartsWith($"sealed secret signer '{Path.Combine(dir.FullName, "rsa.pem")}' is not a P-256 public key PEM: ",
                Assert.Throws<SealedSecretException>(() => SealedSecretSigners.Load(dir.FullName)).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private sealed class RsaSigner(RSA key) : IPayloadSigner
    {
        public string Algorithm => JwsAlgorithms.RS256;
        public string KeyId => "rsa";
        public byte[] Sign(ReadOnlySpan<byte> data) => JwsSignature.Sign(key, Algorithm, data);
    }
}
