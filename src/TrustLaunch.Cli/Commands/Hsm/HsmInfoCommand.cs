using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm info</c>.</summary>
public static class HsmInfoCommand
{
    public static Command Create(GlobalOptions options, HsmOptions hsm)
    {
        var command = new Command("info", "Show the PKCS#11 module's manufacturer, versions and tokens");
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var module = hsm.Load(parse);
            var info = module.GetInfo();
            var result = new HsmInfoResult(info.Path, info.Manufacturer, info.Description, info.LibraryVersion, info.CryptokiVersion,
                module.GetSlots().Where(s => s.Token is { Initialized: true }).Select(s => s.Token!.Label).ToList(), module.SpyLog);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmInfoResult, (w, r) =>
            {
                w.WriteLine($"module:        {r.Module}");
                w.WriteLine($"manufacturer:  {r.Manufacturer}");
                w.WriteLine($"description:   {r.Description}");
                w.WriteLine($"library:       {r.LibraryVersion}");
                w.WriteLine($"cryptoki:      {r.CryptokiVersion}");
                w.WriteLine($"tokens:        {string.Join(' ', r.Tokens)}");
                if (r.Spy is not null)
                    w.WriteLine($"spy log:       {r.Spy}");
            }).ConfigureAwait(false);
        }));
        return command;
    }
}
