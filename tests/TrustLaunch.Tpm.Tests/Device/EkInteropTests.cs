using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Device;

/// <summary>Our default EKs against tpm2_createek and swtpm_setup's persisted EKs, and the EK certificates in NV.</summary>
public sealed class EkInteropTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>, IDisposable
{
    /// <summary>swtpm_setup 0.7 persists a P-384 EK (high-range template) here, not a P-256 one.</summary>
    private const uint PersistentEccP384Ek = 0x8101_0016;

    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-ek-").FullName;

    private string PathOf(string file) => Path.Combine(_dir, file);

    [Theory]
    [InlineData(TpmAlgId.Rsa, "rsa")]
    [InlineData(TpmAlgId.Ecc, "ecc")]
    public async Task CreateEkAsync_DefaultTemplate_SamePublicAreaAndNameAsTpm2CreateEk(TpmAlgId type, string toolType)
    {
        var ours = await CreateEkAndFlushAsync(type);
        try
        {
            await tpm.Tpm2Async("tpm2_createek", "-c", PathOf("ek.ctx"), "-G", toolType, "-u", PathOf("ek.pub"));
        }
        finally
        {
            await tpm.Tpm2RawAsync("tpm2_flushcontext", "-t");
        }
        var theirs = await File.ReadAllBytesAsync(PathOf("ek.pub"));

        Assert.Equal(theirs, ours.Public.ToTpm2bPublic());
        Assert.Equal(TpmPublic.ParseTpm2b(theirs).ComputeName(), ours.Name);
        Assert.Equal(ours.Public.ComputeName(), ours.Name);
    }

    [Fact]
    public async Task CreateEkAsync_Ecc_IsP256WithSha256()
    {
        var ours = await CreateEkAndFlushAsync(TpmAlgId.Ecc);

        Assert.Equal(TpmEccCurve.NistP256, ours.Public.Ecc!.Curve);
        Assert.Equal(32, ours.Public.Ecc.X.Length);
        Assert.Equal(TpmAlgId.Sha256, ours.Public.NameAlg);
    }

    [Fact]
    public async Task CreateEkAsync_Rsa_EqualsEkSwtpmSetupPersisted()
    {
        var ours = await CreateEkAndFlushAsync(TpmAlgId.Rsa);
        using var device = tpm.OpenDevice();

        var persisted = await device.ReadPublicAsync(SwtpmFixture.PersistentRsaEk);

        Assert.Equal(persisted.Public.ToTpm2bPublic(), ours.Public.ToTpm2bPublic());
        Assert.Equal(persisted.Name, ours.Name);
    }

    [Fact]
    public async Task ReadEkCertificateAsync_Rsa_IsX509OfTheEkModulus()
    {
        var ek = await CreateEkAndFlushAsync(TpmAlgId.Rsa);
        using var device = tpm.OpenDevice();

        var der = await device.ReadEkCertificateAsync(TpmHandles.EkCertificateRsa2048);

        Assert.NotNull(der);
        using var cert = X509CertificateLoader.LoadCertificate(der);
        using var key = cert.GetRSAPublicKey();
        Assert.NotNull(key);
        Assert.Equal(ek.Public.Rsa!.Modulus, key.ExportParameters(false).Modulus);
    }

    [Fact]
    public async Task ReadEkCertificateAsync_Rsa_EqualsTpm2NvRead()
    {
        using var device = tpm.OpenDevice();

        var ours = await device.ReadEkCertificateAsync(TpmHandles.EkCertificateRsa2048);
        await tpm.Tpm2Async("tpm2_nvread", "0x01c00002", "-o", PathOf("ekcert.der"));

        Assert.Equal(await File.ReadAllBytesAsync(PathOf("ekcert.der")), ours);
    }

    // PROTOCOLS.md puts swtpm_setup's ECC EK certificate at 0x01C0000A (low range, P-256). swtpm_setup 0.7 writes a
    // P-384 EK certificate at 0x01C00016 (high range) and nothing at 0x01C0000A.
    [Fact]
    public async Task ReadEkCertificateAsync_EccP256IndexOnSwtpm_ReturnsNull()
    {
        using var device = tpm.OpenDevice();

        Assert.Null(await device.ReadEkCertificateAsync(TpmHandles.EkCertificateEccP256));
    }

    [Fact]
    public async Task ReadEkCertificateAsync_IndexThatDoesNotExist_ReturnsNull()
    {
        using var device = tpm.OpenDevice();

        Assert.Null(await device.ReadEkCertificateAsync(0x01C0_0100));
    }

    [Fact]
    public async Task ReadEkCertificateAsync_EccP384_CertifiesThePersistedP384Ek()
    {
        using var device = tpm.OpenDevice();
        var persisted = await device.ReadPublicAsync(PersistentEccP384Ek);

        var der = await device.ReadEkCertificateAsync(TpmHandles.EkCertificateEccP384);

        Assert.NotNull(der);
        Assert.Equal(TpmEccCurve.NistP384, persisted.Public.Ecc!.Curve);
        using var cert = X509CertificateLoader.LoadCertificate(der);
        // The certificate's key usage is keyAgreement (a decryption EK), so .NET offers it as ECDH, not ECDSA.
        using var key = cert.GetECDiffieHellmanPublicKey();
        Assert.NotNull(key);
        var q = key.ExportParameters(false).Q;
        Assert.Equal(persisted.Public.Ecc.X, q.X);
        Assert.Equal(persisted.Public.Ecc.Y, q.Y);
    }

    // The persisted P-384 EK uses the high-range template: SHA-384 nameAlg, AES-256-CFB, userWithAuth set. Our
    // MakeCredential follows its parameters (KDFe with SHA-384 on P-384, a 256-bit symmetric key) and
    // tpm2_activatecredential opens it with the EK's empty password.
    [Fact]
    public async Task Make_PersistedP384Ek_Tpm2ActivateCredentialWithPassword_RecoversSecret()
    {
        using var device = tpm.OpenDevice();
        var ek = (await device.ReadPublicAsync(PersistentEccP384Ek)).Public;
        Assert.Equal(TpmAlgId.Sha384, ek.NameAlg);
        Assert.Equal(new TpmSymmetric(TpmAlgId.Aes, 256, TpmAlgId.Cfb), ek.Symmetric);
        var secret = RandomNumberGenerator.GetBytes(48);
        byte[] recovered;
        try
        {
            await tpm.Tpm2Async("tpm2_createak", "-C", "0x81010016", "-c", PathOf("ak.ctx"), "-G", "ecc",
                "-u", PathOf("ak.pub"), "-n", PathOf("ak.name"));
            await tpm.Tpm2RawAsync("tpm2_flushcontext", "-t");
            var made = CredentialMaker.Make(ek, await File.ReadAllBytesAsync(PathOf("ak.name")), secret);
            await File.WriteAllBytesAsync(PathOf("cred.in"), made.ToTpm2ToolsFile());
            await tpm.Tpm2Async("tpm2_activatecredential", "-c", PathOf("ak.ctx"), "-C", "0x81010016",
                "-i", PathOf("cred.in"), "-o", PathOf("secret.out"));
            recovered = await File.ReadAllBytesAsync(PathOf("secret.out"));
        }
        finally
        {
            await tpm.Tpm2RawAsync("tpm2_flushcontext", "-t");
            await tpm.Tpm2RawAsync("tpm2_flushcontext", "-s");
        }

        Assert.Equal(secret, recovered);
    }

    private async Task<LoadedObject> CreateEkAndFlushAsync(TpmAlgId type)
    {
        using var device = tpm.OpenDevice();
        var ek = await device.CreateEkAsync(type);
        await device.FlushContextAsync(ek.Handle);
        return ek;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
