using TrustLaunch.LoadSim;

return await LoadSimCommand.RunAsync(args).ConfigureAwait(false);
