using System.CommandLine;
using TrustLaunch.Cli.Output;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary><c>trustlaunch image gc</c>: removes blobs no stored image reaches and leftovers of killed pulls.</summary>
public static class ImageGcCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var command = new Command("gc", "Remove unreferenced blobs and leftovers of interrupted pulls");
        command.SetAction(async (parse, ct) =>
        {
            var gc = registry.OpenStore(parse).GarbageCollect();
            var result = new GcResult(gc.BytesFreed, gc.RemovedBlobs.Count, gc.RemovedIngestFiles.Count);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.GcResult, (w, x) =>
                w.WriteLine($"freed {x.BytesFreed} bytes ({PullProgressView.Bytes(x.BytesFreed)}): {x.BlobsRemoved} blobs, {x.IngestFilesRemoved} ingest leftovers")).ConfigureAwait(false);
        });
        return command;
    }
}
