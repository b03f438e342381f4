using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary><c>trustlaunch tpm info</c>.</summary>
public static class TpmInfoCommand
{
    public static Command Create(GlobalOptions options)
    {
        var command = new Command("info", "Show the TPM's manufacturer, firmware, spec version, algorithms and PCR banks");
        command.SetAction(async (parse, ct) =>
        {
            using var device = options.OpenTpm(parse);
            var info = await device.GetInfoAsync(ct).ConfigureAwait(false);
            var result = new InfoResult(
                info.Manufacturer,
                info.VendorString,
                info.FirmwareVersion,
                info.SpecVersion,
                info.Algorithms,
                info.EccCurves.Select(CurveName).ToList(),
                info.PcrBanks.ToDictionary(b => TpmHash.ToName(b.Bank), b => b.Pcrs));
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.InfoResult, WriteText).ConfigureAwait(false);
        });
        return command;
    }

    private static string CurveName(TpmEccCurve curve) => curve switch
    {
        TpmEccCurve.NistP256 => "nist_p256",
        TpmEccCurve.NistP384 => "nist_p384",
        TpmEccCurve.NistP521 => "nist_p521",
        _ => $"0x{(ushort)curve:x4}",
    };

    private static void WriteText(TextWriter w, InfoResult r)
    {
        w.WriteLine($"manufacturer:  {r.Manufacturer}");
        w.WriteLine($"vendor:        {r.VendorString}");
        w.WriteLine($"firmware:      {r.FirmwareVersion}");
        w.WriteLine($"spec:          {r.SpecVersion}");
        w.WriteLine($"algorithms:    {string.Join(' ', r.Algorithms)}");
        w.WriteLine($"ecc curves:    {string.Join(' ', r.EccCurves)}");
        w.WriteLine($"pcr banks:     {string.Join(' ', r.PcrBanks.Select(b => $"{b.Key}({b.Value.Count})"))}");
    }
}
