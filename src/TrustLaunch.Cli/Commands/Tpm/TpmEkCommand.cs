using System.CommandLine;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary><c>trustlaunch tpm ek [--alg rsa|ecc] [--out FILE]</c>.</summary>
public static class TpmEkCommand
{
    public static Command Create(GlobalOptions options)
    {
        var alg = CliParsers.KeyTypeOption("--alg", TpmAlgId.Rsa, "EK type");
        var output = new Option<FileInfo?>("--out")
        {
            Description = "Write the EK's TPM2B_PUBLIC here (tpm2-tools -u format) and its certificate, if any, to FILE.crt (DER)",
            HelpName = "FILE",
        };
        var command = new Command("ek", "Create the default endorsement key and show its name, public key and certificate") { alg, output };
        command.SetAction(async (parse, ct) =>
        {
            var type = parse.GetValue(alg);
            var outFile = parse.GetValue(output);
            using var device = options.OpenTpm(parse);
            var ek = await device.CreateEkAsync(type, ct).ConfigureAwait(false);
            byte[]? certificateDer;
            uint certificateIndex;
            try
            {
                (certificateIndex, certificateDer) = await ReadCertificateAsync(device, type, ct).ConfigureAwait(false);
            }
            finally
            {
                await device.FlushContextAsync(ek.Handle, CancellationToken.None).ConfigureAwait(false);
            }

            string? certificatePath = null;
            if (outFile is not null)
            {
                await File.WriteAllBytesAsync(outFile.FullName, ek.Public.ToTpm2bPublic(), ct).ConfigureAwait(false);
                if (certificateDer is not null)
                {
                    certificatePath = outFile.FullName + ".crt";
                    await File.WriteAllBytesAsync(certificatePath, certificateDer, ct).ConfigureAwait(false);
                }
            }
            var result = new EkResult(
                CliParsers.KeyTypeName(type),
                CliParsers.Hex(ek.Name),
                ek.Public.ExportPem(),
                certificateDer is null ? null : DescribeCertificate(certificateIndex, certificateDer),
                outFile?.FullName,
                certificatePath);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.EkResult, WriteText).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The EK certificate's NV index for a default EK of this type (TCG EK Credential Profile, low range).</summary>
    public static uint CertificateIndex(TpmAlgId type) =>
        type == TpmAlgId.Rsa ? TpmHandles.EkCertificateRsa2048 : TpmHandles.EkCertificateEccP256;

    /// <summary>The EK certificate from NV, trimmed to its DER length (NV indexes are often padded), or null.</summary>
    public static async Task<(uint Index, byte[]? Der)> ReadCertificateAsync(TpmDevice device, TpmAlgId type, CancellationToken ct)
    {
        var index = CertificateIndex(type);
        var data = await device.ReadEkCertificateAsync(index, ct).ConfigureAwait(false);
        if (data is null)
            return (index, null);
        try
        {
            AsnDecoder.ReadEncodedValue(data, AsnEncodingRules.DER, out _, out _, out var consumed);
            return (index, data[..consumed]);
        }
        catch (AsnContentException)
        {
            throw new CliFailureException($"NV index {CliParsers.FormatHandle(index)} holds {data.Length} bytes that are not a DER certificate");
        }
    }

    private static CertificateResult DescribeCertificate(uint index, byte[] der)
    {
        try
        {
            using var cert = X509CertificateLoader.LoadCertificate(der);
            return new CertificateResult(CliParsers.FormatHandle(index), cert.Subject, cert.Issuer,
                new DateTimeOffset(cert.NotBefore.ToUniversalTime()), new DateTimeOffset(cert.NotAfter.ToUniversalTime()));
        }
        catch (CryptographicException e)
        {
            throw new CliFailureException($"the EK certificate in NV index {CliParsers.FormatHandle(index)} does not parse: {e.Message}");
        }
    }

    private static void WriteText(TextWriter w, EkResult r)
    {
        w.WriteLine($"type:        {r.Type}");
        w.WriteLine($"name:        {r.Name}");
        if (r.Certificate is { } c)
        {
            w.WriteLine($"certificate: NV {c.NvIndex}");
            w.WriteLine($"  subject:   {c.Subject}");
            w.WriteLine($"  issuer:    {c.Issuer}");
            w.WriteLine($"  valid:     {c.NotBefore:u} to {c.NotAfter:u}");
        }
        else
        {
            w.WriteLine("certificate: none in NV");
        }
        if (r.OutPublic is not null)
            w.WriteLine($"wrote:       {r.OutPublic}{(r.OutCertificate is null ? "" : $", {r.OutCertificate}")}");
        w.Write(r.PublicPem.EndsWith('\n') ? r.PublicPem : r.PublicPem + "\n");
    }
}
