using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Tests.Policy;

/// <summary>The checks on a simple signing signature itself, with keys gpg made: payload digest and strictness, a forged literal.</summary>
[Trait("Category", "Slow")]
public sealed class OpenPgpSignatureTests(GpgSigningFixture fixture) : IClassFixture<GpgSigningFixture>
{
    private static readonly Digest Image = Digest.Parse("sha256:" + new string('1', 64));
    private static readonly Digest Other = Digest.Parse("sha256:" + new string('2', 64));

    private byte[] Sign(byte[] payload) => OpenPgpSignatures.Sign(payload, File.ReadAllBytes(fixture.Ed25519.SecretPath), []).Signature;

    private string? Refusal(byte[] signature, string reference = "registry.example/app:1")
    {
        var store = Directory.CreateTempSubdirectory("trustlaunch-lookaside-").FullName;
        try
        {
            var image = ImageReference.Parse(reference);
            LookasideStore.Write(new Uri("file://" + store), image, Image, signature);
            var policy = SignaturePolicy.Parse(Encoding.UTF8.GetBytes(
                $$"""{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"{{Convert.ToBase64String(File.ReadAllBytes(fixture.Ed25519.PublicPath))}}"}]}"""));
            var registriesD = RegistriesD.Parse([("x.yaml", $"default-docker:\n  lookaside: file://{store}\n")]);
            using var client = new RegistryClient();
            using var http = new HttpClient();
            return new SignaturePolicyCheck(policy, registriesD, http).CheckAsync(client, image, Image, CancellationToken.None).GetAwaiter().GetResult().Refusal;
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }

    [Fact]
    public void Check_PayloadForAnotherManifest_Refused()
    {
        var signature = Sign(new SimpleSigningPayload("registry.example/app:1", Other).Serialize(SimpleSigningPayload.AtomicType, DateTimeOffset.UtcNow));
        Assert.Equal($"signature policy policy.json (default): signedBy: signature by {fixture.Ed25519.Fingerprint} is for manifest {Other}, not {Image}", Refusal(signature));
    }

    [Fact]
    public void Check_PayloadWithUnknownCriticalMember_Refused()
    {
        var payload = Encoding.UTF8.GetBytes($$"""
            {"critical":{"identity":{"docker-reference":"registry.example/app:1"},"image":{"docker-manifest-digest":"{{Image}}"},"type":"atomic container signature","extra":1} }
            """);
        Assert.Equal("signature policy policy.json (default): signedBy: signature payload: unknown member 'extra' in critical", Refusal(Sign(payload)));
    }

    [Fact]
    public void Check_CosignTypeInAnOpenPgpSignature_Refused()
    {
        var signature = Sign(new SimpleSigningPayload("registry.example/app:1", Image).Serialize(SimpleSigningPayload.CosignType, DateTimeOffset.UtcNow));
        Assert.Equal("signature policy policy.json (default): signedBy: signature payload type is 'cosign container image signature', expected 'atomic container signature'",
            Refusal(signature));
    }

    [Fact]
    public void Check_LiteralDataSwappedUnderAValidSignature_Refused()
    {
        var honest = new SimpleSigningPayload("registry.example/app:1", Other).Serialize(SimpleSigningPayload.AtomicType, DateTimeOffset.UtcNow);
        var forged = new SimpleSigningPayload("registry.example/app:1", Image).Serialize(SimpleSigningPayload.AtomicType, DateTimeOffset.UtcNow);
        var secret = new PgpSecretKeyRingBundle(File.ReadAllBytes(fixture.Ed25519.SecretPath)).GetKeyRings().SelectMany(r => r.GetSecretKeys()).First(k => k.IsSigningKey);
        var generator = new PgpSignatureGenerator(secret.PublicKey.Algorithm, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, secret.ExtractPrivateKey([]));
        generator.Update(honest);
        using var message = new MemoryStream();
        generator.GenerateOnePassVersion(false).Encode(message);
        using (var literal = new PgpLiteralDataGenerator().Open(message, PgpLiteralData.Binary, "", forged.Length, DateTime.UtcNow))
            literal.Write(forged);
        generator.Generate().Encode(message);

        Assert.Equal($"signature policy policy.json (default): signedBy: signature by key {fixture.Ed25519.Fingerprint[^16..]} is invalid", Refusal(message.ToArray()));
    }

    [Fact]
    public void Check_OwnSignatureForThisManifest_Accepted()
    {
        Assert.Null(Refusal(Sign(new SimpleSigningPayload("registry.example/app:1", Image).Serialize(SimpleSigningPayload.AtomicType, DateTimeOffset.UtcNow))));
    }
}
