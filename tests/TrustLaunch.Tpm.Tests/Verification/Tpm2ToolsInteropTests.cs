using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>Quotes crossing between tpm2-tools and TrustLaunch on one swtpm, in both directions.</summary>
public sealed class Tpm2ToolsInteropTests(SwtpmFixture tpm) : IClassFixture<SwtpmFixture>, IDisposable
{
    private const string PcrList = "sha256:0,1,15";
    private readonly string _dir = Directory.CreateTempSubdirectory("trustlaunch-verify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private async Task CreateAkWithToolsAsync(string keyAlgorithm, string scheme, params string[] output)
    {
        await tpm.Tpm2Async("tpm2_createek", "-c", P("ek.ctx"), "-G", "rsa", "-u", P("ek.pub"));
        await tpm.Tpm2Async("tpm2_createak", ["-C", P("ek.ctx"), "-c", P("ak.ctx"), "-G", keyAlgorithm, "-g", "sha256", "-s", scheme, .. output]);
        await tpm.Tpm2Async("tpm2_flushcontext", "-t");
    }

    // tpm2_quote asks for RSASSA with an RSA key unless told the scheme: an RSAPSS AK then fails with 0x2D2.
    private async Task<byte[]> QuoteWithToolsAsync(byte[] nonce, string scheme)
    {
        try
        {
            await tpm.Tpm2Async("tpm2_quote", "-c", P("ak.ctx"), "-l", PcrList, "-q", Convert.ToHexString(nonce),
                "-m", P("msg"), "-s", P("sig"), "-o", P("pcrs"), "-F", "values", "-g", "sha256", "--scheme", scheme);
        }
        finally
        {
            await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        }
        return nonce;
    }

    private QuoteVerificationResult VerifyFiles(AsymmetricAlgorithm key, byte[] nonce) =>
        QuoteVerifier.Verify(key, File.ReadAllBytes(P("msg")), File.ReadAllBytes(P("sig")), File.ReadAllBytes(P("pcrs")), nonce);

    [Theory]
    [InlineData("ecc", "ecdsa")]
    [InlineData("rsa", "rsassa")]
    [InlineData("rsa", "rsapss")]
    public async Task Verify_Tpm2QuoteWithPemAk_IsValid(string keyAlgorithm, string scheme)
    {
        await CreateAkWithToolsAsync(keyAlgorithm, scheme, "-u", P("ak.pem"), "-f", "pem");
        var nonce = await QuoteWithToolsAsync(RandomNumberGenerator.GetBytes(20), scheme);
        Assert.Equal(96, new FileInfo(P("pcrs")).Length);

        using var key = AkPublicKeys.Load(File.ReadAllBytes(P("ak.pem")));
        Assert.IsAssignableFrom(keyAlgorithm == "ecc" ? typeof(ECDsa) : typeof(RSA), key);
        var result = VerifyFiles(key, nonce);
        Assert.Equal("valid", result.Reason);
        Assert.True(result.IsValid);

        if (scheme == "rsapss")
        {
            // swtpm (libtpms) salts PSS with the digest size, which .NET's RSASignaturePadding.Pss checks directly.
            var signature = TpmSignature.Parse(File.ReadAllBytes(P("sig")));
            Assert.True(((RSA)key).VerifyData(File.ReadAllBytes(P("msg")), signature.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
        }

        var other = VerifyFiles(key, RandomNumberGenerator.GetBytes(20));
        Assert.Equal("nonce mismatch", other.Reason);
        Assert.Equal(QuoteFailure.NonceMismatch, other.Failure);
    }

    [Theory]
    [InlineData("ecc", "ecdsa")]
    [InlineData("rsa", "rsassa")]
    public async Task Load_Tpm2CreateakDefaultPublic_LoadsSameKeyAndVerifies(string keyAlgorithm, string scheme)
    {
        await CreateAkWithToolsAsync(keyAlgorithm, scheme, "-u", P("ak.pub"));
        await tpm.Tpm2Async("tpm2_readpublic", "-c", P("ak.ctx"), "-f", "pem", "-o", P("ak.pem"));
        await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        var nonce = await QuoteWithToolsAsync(RandomNumberGenerator.GetBytes(32), scheme);

        var tpm2b = File.ReadAllBytes(P("ak.pub"));
        Assert.Equal(tpm2b.Length - 2, (tpm2b[0] << 8) | tpm2b[1]);
        using var fromTpm2b = AkPublicKeys.Load(tpm2b);
        using var fromPem = AkPublicKeys.Load(File.ReadAllBytes(P("ak.pem")));
        Assert.Equal(fromPem.ExportSubjectPublicKeyInfo(), fromTpm2b.ExportSubjectPublicKeyInfo());
        Assert.Equal("valid", VerifyFiles(fromTpm2b, nonce).Reason);
    }

    [Theory]
    [InlineData(TpmAlgId.Ecc)]
    [InlineData(TpmAlgId.Rsa)]
    public async Task Tpm2Checkquote_QuoteFromTpmDevice_Accepts(TpmAlgId type)
    {
        var selection = PcrSelection.ParseList(PcrList);
        var nonce = RandomNumberGenerator.GetBytes(32);
        using (var device = tpm.OpenDevice())
        {
            var ak = await device.CreateAkAsync(type);
            try
            {
                var quote = await device.QuoteAsync(ak.Handle, nonce, selection);
                var values = await device.ReadPcrsAsync(selection);
                await File.WriteAllTextAsync(P("ak.pem"), ak.Public.ExportPem());
                await File.WriteAllBytesAsync(P("msg"), quote.Attest);
                await File.WriteAllBytesAsync(P("sig"), quote.Signature.ToBytes());
                await File.WriteAllBytesAsync(P("values"), values.Concatenate());
                await File.WriteAllBytesAsync(P("pcrs"), Tpm2ToolsPcrFile.Serialize(values));
                using var key = ak.Public.ToAsymmetricAlgorithm();
                Assert.Equal("valid", QuoteVerifier.Verify(key, quote.Attest, quote.Signature.ToBytes(), values.Concatenate(), nonce).Reason);
            }
            finally
            {
                await device.FlushContextAsync(ak.Handle);
            }
        }

        string[] common = ["-u", P("ak.pem"), "-m", P("msg"), "-s", P("sig"), "-g", "sha256"];
        await tpm.Tpm2Async("tpm2_checkquote", [.. common, "-f", P("pcrs"), "-q", Convert.ToHexString(nonce)]);

        // The same files with another nonce are refused: the check above did check something.
        var wrongNonce = await tpm.Tpm2RawAsync("tpm2_checkquote", [.. common, "-f", P("pcrs"), "-q", "00112233"]);
        Assert.NotEqual(0, wrongNonce.ExitCode);
        // tpm2-tools 5.4 ignores -F for checkquote and cannot read the raw -F values form.
        var rawValues = await tpm.Tpm2RawAsync("tpm2_checkquote", [.. common, "-f", P("values"), "-F", "values", "-q", Convert.ToHexString(nonce)]);
        Assert.NotEqual(0, rawValues.ExitCode);
        Assert.Contains("Failed to read PCR selection from file", rawValues.StandardError);
    }

    [Fact]
    public async Task Tpm2Checkquote_SerializedFileOfTpm2Quote_EqualsOurSerialization()
    {
        await CreateAkWithToolsAsync("ecc", "ecdsa", "-u", P("ak.pem"), "-f", "pem");
        var selection = PcrSelection.ParseList("sha256:0,1,2,3,4,5,6,7,8,9,15+sha1:3");
        var nonce = RandomNumberGenerator.GetBytes(16);
        try
        {
            await tpm.Tpm2Async("tpm2_quote", "-c", P("ak.ctx"), "-l", "sha256:0,1,2,3,4,5,6,7,8,9,15+sha1:3", "-q", Convert.ToHexString(nonce),
                "-m", P("msg"), "-s", P("sig"), "-o", P("pcrs"), "-g", "sha256");
        }
        finally
        {
            await tpm.Tpm2Async("tpm2_flushcontext", "-t");
        }
        using var device = tpm.OpenDevice();
        var values = await device.ReadPcrsAsync(selection);
        Assert.Equal(Convert.ToHexString(File.ReadAllBytes(P("pcrs"))), Convert.ToHexString(Tpm2ToolsPcrFile.Serialize(values)));
        using var key = AkPublicKeys.Load(File.ReadAllBytes(P("ak.pem")));
        Assert.Equal("valid", QuoteVerifier.Verify(key, File.ReadAllBytes(P("msg")), File.ReadAllBytes(P("sig")), values.Concatenate(), nonce,
            options: new QuoteVerificationOptions { AllowSha1 = true }).Reason);
    }
}
