using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests.Pki;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-ca-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Init_NewDirectory_WritesOwnerOnlyKeyAndSelfSignedCa()
    {
        using var ca = CertificateAuthority.Init(_dir);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "ca.key")));
        using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dir, "ca.crt")));
        Assert.Equal(cert.Subject, cert.Issuer);
        Assert.True(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal("ECDsa", cert.GetECDsaPublicKey()!.SignatureAlgorithm);
    }

    [Fact]
    public void Init_ExistingCa_Refused()
    {
        CertificateAuthority.Init(_dir).Dispose();
        var e = Assert.Throws<IOException>(() => CertificateAuthority.Init(_dir));
        Assert.Equal($"a CA already exists in {_dir} (ca.key/ca.crt); refusing to replace it", e.Message);
    }

    [Fact]
    public void Issue_Agent_RecordsRoleUriEkusDefaultSansAndChainsToCa()
    {
        using var ca = CertificateAuthority.Init(_dir);
        var issued = ca.Issue(ServiceRoles.Agent, "node-1");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(issued.KeyPath));
        using var leaf = X509Certificate2.CreateFromPemFile(issued.CertificatePath, issued.KeyPath);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal((ServiceRoles.Agent, "node-1"), CertificateRoles.Read(leaf));
        Assert.Equal("CN=node-1, OU=agent, O=TrustLaunch", leaf.Subject);
        var ekus = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
        Assert.Equal([CaBundle.ServerAuthOid, CaBundle.ClientAuthOid], ekus);
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost"], san.EnumerateDnsNames());
        Assert.Equal(["127.0.0.1", "::1"], san.EnumerateIPAddresses().Select(a => a.ToString()));
        using var bundle = CaBundle.Load(Path.Combine(_dir, "ca.crt"));
        Assert.Null(bundle.Validate(leaf, CaBundle.ClientAuthOid));
        Assert.Null(bundle.Validate(leaf, CaBundle.ServerAuthOid));
    }

    [Fact]
    public void Issue_ExplicitSans_ReplaceDefaults()
    {
        using var ca = CertificateAuthority.Init(_dir);
        var issued = ca.Issue(ServiceRoles.Verifier, "v1", ["verifier.example"], [System.Net.IPAddress.Parse("10.0.0.7")]);
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(issued.CertificatePath));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["verifier.example"], san.EnumerateDnsNames());
        Assert.Equal(["10.0.0.7"], san.EnumerateIPAddresses().Select(a => a.ToString()));
    }

    [Fact]
    public void Issue_UnknownRole_Refused()
    {
        using var ca = CertificateAuthority.Init(_dir);
        var e = Assert.Throws<ArgumentException>(() => ca.Issue("admin", "x"));
        Assert.Equal("unknown role 'admin': expected one of registrar, verifier, agent, tenant, kbs (Parameter 'role')", e.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData(".hidden")]
    [InlineData("ca")]
    [InlineData("")]
    public void Issue_UnsafeName_Refused(string name)
    {
        using var ca = CertificateAuthority.Init(_dir);
        var e = Assert.Throws<ArgumentException>(() => ca.Issue(ServiceRoles.Tenant, name));
        Assert.StartsWith($"invalid certificate name '{name}': use 1-128 letters", e.Message);
    }

    [Fact]
    public void Validate_CertificateOfAnotherCa_RefusedAsUntrusted()
    {
        using var ours = CertificateAuthority.Init(_dir);
        var otherDir = Path.Combine(_dir, "other");
        using var other = CertificateAuthority.Init(otherDir);
        var foreign = other.Issue(ServiceRoles.Tenant, "mallory");
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(foreign.CertificatePath));
        using var bundle = CaBundle.Load(Path.Combine(_dir, "ca.crt"));
        var reason = bundle.Validate(leaf, CaBundle.ClientAuthOid);
        Assert.NotNull(reason);
        Assert.StartsWith("certificate 'CN=mallory, OU=tenant, O=TrustLaunch' is not trusted: ", reason);
    }

    [Fact]
    public void CertificateRoles_CertificateWithoutUri_ReadsNull()
    {
        using var ca = CertificateAuthority.Init(_dir);
        Assert.Null(CertificateRoles.Read(ca.Certificate));
    }
}
