using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Device;

/// <summary>
/// Software MakeCredential against the real TPM, both ways round with tpm2-tools 5.4. swtpm has three object slots and
/// no resource manager: every transient object (ours and the ones tpm2-tools leaves behind) is flushed.
/// </summary>
public sealed class CredentialInteropTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>, IDisposable
{
    // TPM_RC_INTEGRITY (0x09F) | parameter (0x040) | parameter number 1 (credentialBlob) << 8.
    private const uint IntegrityOnCredentialBlob = 0x1DF;

    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-cred-").FullName;

    private string PathOf(string file) => Path.Combine(_dir, file);

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecc")]
    public async Task Make_ThenTpm2ActivateCredential_RecoversSecret(string ekType)
    {
        var (ek, akName) = await ToolsEkAndAkAsync(ekType);
        var secret = RandomNumberGenerator.GetBytes(32);

        var made = CredentialMaker.Make(ek, akName, secret);
        await File.WriteAllBytesAsync(PathOf("cred.in"), made.ToTpm2ToolsFile());

        var recovered = await ToolsActivateAsync("cred.in");
        Assert.Equal(secret, recovered);
    }

    [Theory]
    [InlineData(TpmAlgId.Rsa)]
    [InlineData(TpmAlgId.Ecc)]
    public async Task Tpm2MakeCredential_ThenActivateCredentialAsync_RecoversSecret(TpmAlgId ekType)
    {
        using var device = tpm.OpenDevice();
        var ek = await device.CreateEkAsync(ekType);
        try
        {
            var ak = await device.CreateAkAsync();
            try
            {
                var secret = RandomNumberGenerator.GetBytes(32);
                await File.WriteAllBytesAsync(PathOf("ek.pub"), ek.Public.ToTpm2bPublic());
                await File.WriteAllBytesAsync(PathOf("secret.bin"), secret);
                await tpm.Tpm2Async("tpm2_makecredential", "-T", "none", "-u", PathOf("ek.pub"), "-s", PathOf("secret.bin"),
                    "-n", Convert.ToHexStringLower(ak.Name), "-o", PathOf("cred.out"));

                var made = MadeCredential.FromTpm2ToolsFile(await File.ReadAllBytesAsync(PathOf("cred.out")));
                var recovered = await device.ActivateCredentialAsync(ak.Handle, ek.Handle, made.CredentialBlob, made.EncryptedSecret);

                Assert.Equal(secret, recovered);
            }
            finally
            {
                await device.FlushContextAsync(ak.Handle);
            }
        }
        finally
        {
            await device.FlushContextAsync(ek.Handle);
        }
    }

    [Theory]
    [InlineData(TpmAlgId.Rsa, 1)]
    [InlineData(TpmAlgId.Rsa, 32)]
    [InlineData(TpmAlgId.Ecc, 1)]
    [InlineData(TpmAlgId.Ecc, 32)]
    public async Task Make_ThenActivateCredentialAsync_RecoversSecret(TpmAlgId ekType, int secretLength)
    {
        var secret = RandomNumberGenerator.GetBytes(secretLength);

        var recovered = await WithOurEkAndAkAsync(ekType, (device, ek, ak) =>
        {
            var made = CredentialMaker.Make(ek.Public, ak.Name, secret);
            return device.ActivateCredentialAsync(ak.Handle, ek.Handle, made.CredentialBlob, made.EncryptedSecret);
        });

        Assert.Equal(secret, recovered);
    }

    // The TPM derives the HMAC key from the seed and checks HMAC(encIdentity || name of the activated key): a credential
    // made for another name fails that check, TPM_RC_INTEGRITY on parameter 1 — the same answer as any tampering.
    [Theory]
    [InlineData(TpmAlgId.Rsa)]
    [InlineData(TpmAlgId.Ecc)]
    public async Task ActivateCredentialAsync_CredentialForOtherAk_FailsIntegrityOnCredentialBlob(TpmAlgId ekType)
    {
        byte[] otherName;
        using (var device = tpm.OpenDevice())
        {
            // Made and flushed first: EK, AK and the AK's SRK already take swtpm's three object slots.
            var other = await device.CreateAkAsync();
            otherName = other.Name;
            await device.FlushContextAsync(other.Handle);
        }

        var e = await ActivateExpectingFailureAsync(ekType, (ek, ak) =>
        {
            Assert.NotEqual(ak.Name, otherName);
            var made = CredentialMaker.Make(ek.Public, otherName, RandomNumberGenerator.GetBytes(32));
            return (made.CredentialBlob, made.EncryptedSecret);
        });

        Assert.Equal(IntegrityOnCredentialBlob, e.ResponseCode);
        Assert.Equal("TPM2_ActivateCredential failed: TPM_RC_INTEGRITY on parameter 1 (0x000001DF)", e.Message);
    }

    // Bit flips: integrityHMAC or encIdentity fail the HMAC check (TPM_RC_INTEGRITY, parameter 1 = 0x1DF). A flipped
    // ECC x-coordinate is no longer on the curve (TPM_RC_ECC_POINT, parameter 2 = 0x2E7). A flipped RSA ciphertext fails
    // OAEP decoding, which libtpms (swtpm 0.7) reports as TPM_RC_FAILURE 0x101 rather than the TPM_RC_VALUE on
    // parameter 2 of the reference code; the TPM stays usable (the same EK and AK activate a good credential after).
    [Theory]
    [InlineData(TpmAlgId.Rsa, "integrityHMAC", 0x1DFu, "TPM_RC_INTEGRITY on parameter 1")]
    [InlineData(TpmAlgId.Rsa, "encIdentity", 0x1DFu, "TPM_RC_INTEGRITY on parameter 1")]
    [InlineData(TpmAlgId.Rsa, "secret", 0x101u, "TPM_RC_FAILURE")]
    [InlineData(TpmAlgId.Ecc, "integrityHMAC", 0x1DFu, "TPM_RC_INTEGRITY on parameter 1")]
    [InlineData(TpmAlgId.Ecc, "encIdentity", 0x1DFu, "TPM_RC_INTEGRITY on parameter 1")]
    [InlineData(TpmAlgId.Ecc, "secret", 0x2E7u, "TPM_RC_ECC_POINT on parameter 2")]
    public async Task ActivateCredentialAsync_BitFlipped_FailsWithExactCode(TpmAlgId ekType, string field, uint expectedCode, string expectedName)
    {
        var e = await ActivateExpectingFailureAsync(ekType, (ek, ak) =>
        {
            var made = CredentialMaker.Make(ek.Public, ak.Name, RandomNumberGenerator.GetBytes(32));
            var blob = made.CredentialBlob.ToArray();
            var secret = made.EncryptedSecret.ToArray();
            switch (field)
            {
                case "integrityHMAC":
                    blob[2 + 5] ^= 0x01; // inside the 32-byte HMAC after its u16 size
                    break;
                case "encIdentity":
                    blob[^1] ^= 0x80; // last byte of the encrypted credential
                    break;
                default:
                    secret[ekType == TpmAlgId.Rsa ? 100 : 2 + 31] ^= 0x01; // RSA ciphertext / last byte of x
                    break;
            }
            return (blob, secret);
        });

        Assert.Equal(expectedCode, e.ResponseCode);
        Assert.Contains(expectedName, e.Message);
    }

    /// <summary>
    /// Activates a bad credential with our EK and AK and returns the TPM's refusal; then activates a good one with the
    /// same keys, so a refusal that broke the TPM (failure mode) or leaked a session fails the test.
    /// </summary>
    private async Task<TpmException> ActivateExpectingFailureAsync(TpmAlgId ekType, Func<LoadedObject, LoadedObject, (byte[] Blob, byte[] Secret)> bad)
    {
        TpmException? refusal = null;
        var good = RandomNumberGenerator.GetBytes(16);
        var recovered = await WithOurEkAndAkAsync(ekType, async (device, ek, ak) =>
        {
            var (blob, secret) = bad(ek, ak);
            refusal = await Assert.ThrowsAsync<TpmException>(() => device.ActivateCredentialAsync(ak.Handle, ek.Handle, blob, secret));
            var made = CredentialMaker.Make(ek.Public, ak.Name, good);
            return await device.ActivateCredentialAsync(ak.Handle, ek.Handle, made.CredentialBlob, made.EncryptedSecret);
        });
        Assert.Equal(good, recovered);
        Assert.Equal(TpmCc.ActivateCredential, refusal!.Command);
        return refusal;
    }

    private async Task<byte[]> WithOurEkAndAkAsync(TpmAlgId ekType, Func<TpmDevice, LoadedObject, LoadedObject, Task<byte[]>> body)
    {
        using var device = tpm.OpenDevice();
        var ek = await device.CreateEkAsync(ekType);
        try
        {
            var ak = await device.CreateAkAsync();
            try
            {
                return await body(device, ek, ak);
            }
            finally
            {
                await device.FlushContextAsync(ak.Handle);
            }
        }
        finally
        {
            await device.FlushContextAsync(ek.Handle);
        }
    }

    /// <summary>EK and ECC AK made by tpm2-tools, saved as ek.ctx / ak.ctx; the transient copies are flushed again.</summary>
    private async Task<(TpmPublic Ek, byte[] AkName)> ToolsEkAndAkAsync(string ekType)
    {
        try
        {
            await tpm.Tpm2Async("tpm2_createek", "-c", PathOf("ek.ctx"), "-G", ekType, "-u", PathOf("ek.pub"));
            await tpm.Tpm2Async("tpm2_createak", "-C", PathOf("ek.ctx"), "-c", PathOf("ak.ctx"), "-G", "ecc",
                "-u", PathOf("ak.pub"), "-n", PathOf("ak.name"));
        }
        finally
        {
            await FlushToolLeftoversAsync();
        }
        var ek = TpmPublic.ParseTpm2b(await File.ReadAllBytesAsync(PathOf("ek.pub")));
        var akName = await File.ReadAllBytesAsync(PathOf("ak.name"));
        Assert.Equal(TpmPublic.ParseTpm2b(await File.ReadAllBytesAsync(PathOf("ak.pub"))).ComputeName(), akName);
        return (ek, akName);
    }

    /// <summary>
    /// tpm2_activatecredential with the saved EK and AK. tpm2-tools 5.4 does not satisfy the EK policy itself (without
    /// -P it fails with TPM_RC_AUTH_UNAVAILABLE 0x12F): the policy session is built with tpm2_startauthsession and
    /// tpm2_policysecret, and passed as -P session:FILE.
    /// </summary>
    private async Task<byte[]> ToolsActivateAsync(string credentialFile)
    {
        try
        {
            await tpm.Tpm2Async("tpm2_startauthsession", "--policy-session", "-S", PathOf("session.ctx"));
            await tpm.Tpm2Async("tpm2_policysecret", "-S", PathOf("session.ctx"), "-c", "e");
            await tpm.Tpm2Async("tpm2_activatecredential", "-c", PathOf("ak.ctx"), "-C", PathOf("ek.ctx"),
                "-i", PathOf(credentialFile), "-o", PathOf("secret.out"), "-P", "session:" + PathOf("session.ctx"));
        }
        finally
        {
            await FlushToolLeftoversAsync();
        }
        return await File.ReadAllBytesAsync(PathOf("secret.out"));
    }

    private async Task FlushToolLeftoversAsync()
    {
        await tpm.Tpm2RawAsync("tpm2_flushcontext", "-t");
        await tpm.Tpm2RawAsync("tpm2_flushcontext", "-s");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
