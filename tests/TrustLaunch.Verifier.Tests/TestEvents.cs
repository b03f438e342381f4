using System.Globalization;
using System.Security.Cryptography;
using TrustLaunch.Jose;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Verifier.Tests;

/// <summary>Launch event contents as the launcher writes them (RFC 8785 canonical, members sorted), and golden values signed for them.</summary>
internal static class TestEvents
{
    public static readonly Digest Rootfs = Digest.Parse("sha256:" + new string('b', 64));

    /// <summary>A golden value for <paramref name="manifestDigest"/>, signed by <paramref name="key"/> (default: the test policies' publisher),
    /// valid from <paramref name="created"/> (default: an hour ago) to <paramref name="expires"/> (default: in a day).</summary>
    public static string SignGolden(string manifestDigest, ECDsa? key = null, DateTimeOffset? created = null, DateTimeOffset? expires = null)
    {
        using var signer = PemPayloadSigner.FromPem((key ?? TestPolicies.PublisherKey).ExportPkcs8PrivateKeyPem());
        var now = DateTimeOffset.UtcNow;
        return new GoldenValue
        {
            Reference = "registry/app:1",
            ManifestDigest = Digest.Parse(manifestDigest),
            ConfigDigest = Digest.Parse("sha256:" + new string('d', 64)),
            LayerDigests = [],
            DiffIds = [],
            RootfsDigest = Rootfs,
            Created = created ?? now.AddHours(-1),
            Expires = expires ?? now.AddDays(1),
        }.Sign(signer);
    }

    /// <summary><c>ImageVerified</c> of <paramref name="digest"/> checked against <paramref name="jws"/>; the publisher is the JWS's signer
    /// unless <paramref name="publisher"/> says otherwise.</summary>
    public static string ImageVerified(string digest, string jws, string? publisher = null, string? rootfs = null, string image = "registry/app:1",
        IReadOnlyList<string>? signers = null) =>
        string.Create(CultureInfo.InvariantCulture,
        $$"""{"digest":"{{digest}}","golden":"{{GoldenValue.JwsDigest(jws)}}","image":"{{image}}","mode":"local","publisher":"{{publisher ?? JwsJson.ParseSignatures(jws)[0].KeyId}}","rootfs":"{{rootfs ?? Rootfs.ToString()}}"{{(signers is null ? "" : $",\"signers\":[{string.Join(',', signers.Select(k => $"\"{k}\""))}]")}}}""");

    public static string ContainerCreated(string container, string digest, string ns = "", string network = ContainerIsolation.NetworkPod,
        string seccomp = ContainerIsolation.SeccompDefault) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"config":"sha256:{{new string('c', 64)}}","container":"{{container}}","digest":"{{digest}}","image":"registry/app:1","namespace":"{{ns}}","network":"{{network}}","pod":"","seccomp":"{{seccomp}}"}""");

    public static string Container(string container) => $$"""{"container":"{{container}}"}""";

    public static string Exec(string container, params string[] command) =>
        $$"""{"command":[{{string.Join(',', command.Select(c => $"\"{c}\""))}}],"container":"{{container}}"}""";
}
