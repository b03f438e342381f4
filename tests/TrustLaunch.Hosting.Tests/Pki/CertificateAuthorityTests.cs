using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests.Pki;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("trustlaunch-ca-").FullName;

    private string Tls => Path.Combine(_root, "tls");
    private string Keys => Path.Combine(_root, "ca");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private CertificateAuthority Init() => CertificateAuthority.Init(Tls, Keys);

    private static SubjectAltNames Sans(params string[] values) => SubjectAltNames.Parse(values);

    [Fact]
    public void Init_NewDirectories_KeyOnlyInOwnerOnlyKeyDirectoryServicesGetCertificateAndCrl()
    {
        using var ca = Init();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Keys, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Keys));
        Assert.Equal(["ca.crt", "crl.pem"], Directory.GetFiles(Tls).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Tls, "ca.crt")));
        Assert.Equal(cert.Subject, cert.Issuer);
        Assert.True(cert.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.Equal("ECDsa", cert.GetECDsaPublicKey()!.SignatureAlgorithm);
    }

    [Theory]
    [InlineData("tls")]
    [InlineData("tls/private")]
    public void Init_KeyDirectoryReadableAsTheTlsDirectory_Refused(string keyDirectory)
    {
        var e = Assert.Throws<ArgumentException>(() => CertificateAuthority.Init(Tls, Path.Combine(_root, keyDirectory)));
        Assert.Equal($"the CA key directory {Path.Combine(_root, keyDirectory)} must be apart from the TLS directory {Tls} services read (neither inside the other)", e.Message);
    }

    [Fact]
    public void Init_ExistingCa_Refused()
    {
        Init().Dispose();
        var e = Assert.Throws<IOException>(Init);
        Assert.Equal($"a CA already exists in {Keys} or {Tls} (ca.key/ca.crt); refusing to replace it", e.Message);
    }

    [Fact]
    public void Open_CaKeyInTheTlsDirectory_RefusedAsReadableByServices()
    {
        Init().Dispose();
        File.Copy(Path.Combine(Keys, "ca.key"), Path.Combine(Tls, "ca.key"));
        var e = Assert.Throws<IOException>(() => CertificateAuthority.Open(Tls, Keys));
        Assert.StartsWith($"{Tls} holds the CA private key ca.key, where services can read it", e.Message);
    }

    [Fact]
    public void Issue_Agent_RoleUriBothEkusNinetyDaysAndNoDefaultSans()
    {
        using var ca = Init();
        var issued = ca.Issue(ServiceRoles.Agent, "node-1");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(issued.KeyPath));
        using var leaf = X509Certificate2.CreateFromPemFile(issued.CertificatePath, issued.KeyPath);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal((ServiceRoles.Agent, "node-1"), CertificateRoles.Read(leaf));
        Assert.Equal("CN=node-1, OU=agent, O=TrustLaunch", leaf.Subject);
        Assert.Equal([CaBundle.ServerAuthOid, CaBundle.ClientAuthOid], Ekus(leaf));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Empty(san.EnumerateDnsNames());
        Assert.Empty(san.EnumerateIPAddresses());
        Assert.InRange(leaf.NotAfter - leaf.NotBefore, TimeSpan.FromDays(90), TimeSpan.FromDays(90) + TimeSpan.FromMinutes(6));
        using var bundle = CaBundle.Load(Path.Combine(Tls, "ca.crt"));
        Assert.Null(bundle.Validate(leaf, CaBundle.ClientAuthOid));
        Assert.Null(bundle.Validate(leaf, CaBundle.ServerAuthOid));
    }

    [Fact]
    public void Issue_ExplicitSansAndDays_ExactlyThose()
    {
        using var ca = Init();
        var issued = ca.Issue(ServiceRoles.Verifier, "v1", Sans("DNS:verifier.example,IP:10.0.0.7"), TimeSpan.FromDays(7));
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(issued.CertificatePath));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["verifier.example"], san.EnumerateDnsNames());
        Assert.Equal(["10.0.0.7"], san.EnumerateIPAddresses().Select(a => a.ToString()));
        Assert.InRange(leaf.NotAfter - leaf.NotBefore, TimeSpan.FromDays(7), TimeSpan.FromDays(7) + TimeSpan.FromMinutes(6));
    }

    [Fact]
    public void Issue_Tenant_ClientAuthenticationOnlyAndNoNameButItsRole()
    {
        using var ca = Init();
        var issued = ca.Issue(ServiceRoles.Tenant, "alice");
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(issued.CertificatePath));
        Assert.Equal([CaBundle.ClientAuthOid], Ekus(leaf));
        var san = leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Empty(san.EnumerateDnsNames());
        Assert.Empty(san.EnumerateIPAddresses());
        using var bundle = CaBundle.Load(Path.Combine(Tls, "ca.crt"));
        Assert.NotNull(bundle.Validate(leaf, CaBundle.ServerAuthOid));
    }

    [Fact]
    public void Issue_TenantWithSans_Refused()
    {
        using var ca = Init();
        var e = Assert.Throws<ArgumentException>(() => ca.Issue(ServiceRoles.Tenant, "alice", Sans("IP:127.0.0.1")));
        Assert.Equal("role 'tenant' is client-only: its certificate gets no DNS/IP subject alternative names (got IP:127.0.0.1) (Parameter 'names')", e.Message);
    }

    [Theory]
    [InlineData("URI:trustlaunch://registrar/x")]
    [InlineData("IP:not-an-address")]
    [InlineData("localhost")]
    public void SubjectAltNames_NotDnsOrIp_Refused(string value)
    {
        var e = Assert.Throws<FormatException>(() => Sans(value));
        Assert.Equal($"invalid subject alternative name '{value}': expected DNS:NAME or IP:ADDRESS", e.Message);
    }

    [Fact]
    public void Issue_UnknownRole_Refused()
    {
        using var ca = Init();
        var e = Assert.Throws<ArgumentException>(() => ca.Issue("admin", "x"));
        Assert.Equal("unknown role 'admin': expected one of registrar, verifier, agent, tenant, kbs, kbs-admin (Parameter 'role')", e.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData(".hidden")]
    [InlineData("ca")]
    [InlineData("")]
    public void Issue_UnsafeName_Refused(string name)
    {
        using var ca = Init();
        var e = Assert.Throws<ArgumentException>(() => ca.Issue(ServiceRoles.Tenant, name));
        Assert.StartsWith($"invalid certificate name '{name}': use 1-128 letters", e.Message);
    }

    [Fact]
    public void Renew_IssuedServer_NewKeyAndSerialSameRoleAndSans()
    {
        using var ca = Init();
        var first = ca.Issue(ServiceRoles.Registrar, "reg", Sans("DNS:registrar.example"));
        using var firstLeaf = X509Certificate2.CreateFromPem(File.ReadAllText(first.CertificatePath));
        var renewed = ca.Renew("reg");
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(renewed.CertificatePath));
        Assert.Equal(first.CertificatePath, renewed.CertificatePath);
        Assert.NotEqual(first.SerialNumber, renewed.SerialNumber);
        Assert.NotEqual(firstLeaf.PublicKey.EncodedKeyValue.RawData, leaf.PublicKey.EncodedKeyValue.RawData);
        Assert.Equal((ServiceRoles.Registrar, "reg"), CertificateRoles.Read(leaf));
        Assert.Equal("DNS:registrar.example", SubjectAltNames.Read(leaf).ToString());
    }

    [Fact]
    public void Renew_NeverIssued_RefusedNamingIt()
    {
        using var ca = Init();
        var e = Assert.Throws<FileNotFoundException>(() => ca.Renew("ghost"));
        Assert.StartsWith("this CA has issued no certificate named 'ghost'", e.Message);
    }

    [Fact]
    public void Revoke_RenewedName_SignedCrlListsEveryCertificateOfItAndNoOther()
    {
        using var ca = Init();
        var old = ca.Issue(ServiceRoles.Agent, "node-1");
        using var oldLeaf = X509Certificate2.CreateFromPem(File.ReadAllText(old.CertificatePath));
        ca.Renew("node-1");
        using var newLeaf = X509Certificate2.CreateFromPem(File.ReadAllText(old.CertificatePath));
        var other = ca.Issue(ServiceRoles.Agent, "node-2");
        using var otherLeaf = X509Certificate2.CreateFromPem(File.ReadAllText(other.CertificatePath));

        Assert.Equal(2, ca.Revoke("node-1").Count);
        Assert.Empty(ca.Revoke("node-1"));

        using var bundle = CaBundle.Load(Path.Combine(Tls, "ca.crt"));
        var crl = RevocationList.Decode(Convert.FromBase64String(PemBody(Path.Combine(Tls, "crl.pem"))), bundle);
        Assert.Equal(2, (int)crl.Number);
        Assert.True(crl.IsRevoked(oldLeaf));
        Assert.True(crl.IsRevoked(newLeaf));
        Assert.False(crl.IsRevoked(otherLeaf));
        Assert.Equal(File.ReadAllText(Path.Combine(Keys, "crl.pem")), File.ReadAllText(Path.Combine(Tls, "crl.pem")));
    }

    [Fact]
    public void Issue_OtherOutputDirectory_IsACompleteTlsDirectory()
    {
        using var ca = Init();
        var node = Path.Combine(_root, "node");
        ca.Issue(ServiceRoles.Agent, "node-1", outputDirectory: node);
        using var identity = TlsIdentity.FromDirectory(node, "node-1");
        Assert.Equal((ServiceRoles.Agent, "node-1"), identity.Identity);
    }

    [Fact]
    public void Validate_CertificateOfAnotherCa_RefusedAsUntrusted()
    {
        using var ours = Init();
        using var other = CertificateAuthority.Init(Path.Combine(_root, "other-tls"), Path.Combine(_root, "other-ca"));
        var foreign = other.Issue(ServiceRoles.Tenant, "mallory");
        using var leaf = X509Certificate2.CreateFromPem(File.ReadAllText(foreign.CertificatePath));
        using var bundle = CaBundle.Load(Path.Combine(Tls, "ca.crt"));
        var reason = bundle.Validate(leaf, CaBundle.ClientAuthOid);
        Assert.NotNull(reason);
        Assert.StartsWith("certificate 'CN=mallory, OU=tenant, O=TrustLaunch' is not trusted: ", reason);
    }

    [Fact]
    public void CertificateRoles_CertificateWithoutUri_ReadsNull()
    {
        using var ca = Init();
        Assert.Null(CertificateRoles.Read(ca.Certificate));
    }

    internal static string PemBody(string path)
    {
        var pem = File.ReadAllText(path);
        return pem[PemEncoding.Find(pem).Base64Data];
    }

    private static IEnumerable<string?> Ekus(X509Certificate2 leaf) =>
        leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value);
}
