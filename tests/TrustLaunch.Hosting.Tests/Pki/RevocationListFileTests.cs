using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Pki;

namespace TrustLaunch.Hosting.Tests.Pki;

public sealed class RevocationListFileTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly CaBundle _trust;
    private readonly X509Certificate2 _agent;

    public RevocationListFileTests()
    {
        _trust = CaBundle.Load(_pki["ca.crt"]);
        _agent = X509Certificate2.CreateFromPem(File.ReadAllText(_pki["agent.crt"]));
    }

    public void Dispose()
    {
        _agent.Dispose();
        _trust.Dispose();
        _pki.Dispose();
    }

    private string Revoke(string name)
    {
        using var ca = _pki.OpenCa();
        ca.Revoke(name);
        return File.ReadAllText(_pki["crl.pem"]);
    }

    [Fact]
    public void Check_RevokedAfterLoad_ReloadedAndRefusedNamingSerial()
    {
        var crl = new RevocationListFile(_pki["crl.pem"], _trust);
        Assert.Null(crl.Check(_agent));
        Revoke(ServiceRoles.Agent);
        Assert.Equal($"certificate 'CN=agent, OU=agent, O=TrustLaunch' (serial {_agent.SerialNumber}) is revoked ({_pki["crl.pem"]})", crl.Check(_agent));
        using var tenant = X509Certificate2.CreateFromPem(File.ReadAllText(_pki["tenant.crt"]));
        Assert.Null(crl.Check(tenant));
    }

    [Fact]
    public void Check_OlderCrlPutBack_RefusedAsRollback()
    {
        var before = File.ReadAllText(_pki["crl.pem"]);
        var crl = new RevocationListFile(_pki["crl.pem"], _trust);
        Revoke(ServiceRoles.Agent);
        Assert.NotNull(crl.Check(_agent));
        File.WriteAllText(_pki["crl.pem"], before);
        Assert.Equal($"revocation list {_pki["crl.pem"]} is older (CRL number 1) than one already accepted (2): refusing a rollback", crl.Check(_agent));
    }

    [Fact]
    public void Check_CrlSignedByAnotherCa_RefusedForEveryPeer()
    {
        var crl = new RevocationListFile(_pki["crl.pem"], _trust);
        var other = _pki.Scratch("other");
        using (CertificateAuthority.Init(Path.Combine(other, "tls"), Path.Combine(other, "ca")))
            File.Copy(Path.Combine(other, "tls", "crl.pem"), _pki["crl.pem"], overwrite: true);
        Assert.Equal($"revocation list {_pki["crl.pem"]} unusable: the CRL issuer 'CN=TrustLaunch CA, O=TrustLaunch' is not a CA of the bundle", crl.Check(_agent));
    }

    [Fact]
    public void Check_CrlWithAlteredEntries_SignatureRefused()
    {
        var pem = Revoke(ServiceRoles.Agent);
        var der = Convert.FromBase64String(pem[PemEncoding.Find(pem).Base64Data]);
        // Flip one bit of the revoked serial (inside the signed part).
        var serial = _agent.SerialNumberBytes.ToArray();
        var at = der.AsSpan().IndexOf(serial);
        Assert.True(at > 0);
        der[at + serial.Length - 1] ^= 1;
        File.WriteAllText(_pki["crl.pem"], PemEncoding.WriteString("X509 CRL", der));
        var e = Assert.Throws<CryptographicException>(() => new RevocationListFile(_pki["crl.pem"], _trust));
        Assert.Equal($"revocation list {_pki["crl.pem"]} unusable: the CRL signature does not verify with the key of 'CN=TrustLaunch test CA, O=TrustLaunch'", e.Message);
    }

    [Fact]
    public void Check_CrlRemoved_RefusedUntilBack()
    {
        var crl = new RevocationListFile(_pki["crl.pem"], _trust);
        var saved = File.ReadAllText(_pki["crl.pem"]);
        File.Delete(_pki["crl.pem"]);
        Assert.Equal($"revocation list {_pki["crl.pem"]} is missing (trustlaunch ca init writes it; copy it next to ca.crt)", crl.Check(_agent));
        File.WriteAllText(_pki["crl.pem"], saved);
        Assert.Null(crl.Check(_agent));
    }

    [Fact]
    public void Check_CrlPastNextUpdate_Refused()
    {
        var clock = new ShiftedClock();
        var crl = new RevocationListFile(_pki["crl.pem"], _trust, clock);
        clock.Shift = TimeSpan.FromDays(3651);
        Assert.StartsWith($"revocation list {_pki["crl.pem"]} expired at ", crl.Check(_agent));
    }

    [Fact]
    public void Load_TlsDirectoryHoldingTheCaKey_RefusedBeforeAnyService()
    {
        File.Copy(Path.Combine(_pki.KeyDirectory, "ca.key"), _pki["ca.key"]);
        var e = Assert.Throws<IOException>(() => _pki.Identity(ServiceRoles.Registrar));
        Assert.Equal($"{_pki.Directory} holds the CA private key ca.key: a service that can read it can issue certificates of any role; "
            + "keep it in the CA key directory (trustlaunch ca init --key-dir) and give services ca.crt and crl.pem only", e.Message);
    }

    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Shift { get; set; }
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
    }
}
