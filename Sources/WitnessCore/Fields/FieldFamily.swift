/// Which family a field belongs to: `ResolvedEvent.value` dispatches on it once,
/// and each family's file computes its fields.
enum FieldFamily {
    case event, process, ancestry, credentials, fd, container
}

extension FieldID {
    var family: FieldFamily {
        switch self {
        case .evtType, .evtDir, .evtRes, .evtRawres, .evtFailed, .evtTime, .evtNum, .evtGate, .evtArgFlags, .evtArgMode, .evtArgFilename, .evtArg, .evtRawarg, .evtArgs, .unavailable, .evtIsOpenRead, .evtIsOpenWrite, .evtIsOpenCreate:
            return .event
        case .procCwd, .procDuration, .procVpid, .procIsExeFromMemfd, .procIsExeDeleted, .procExeLoaderTarget, .procExeWriter, .procArgsTruncated, .procIsExeScript, .procStdinType, .procStdoutType, .procStderrType, .procPid, .procPpid, .threadTid, .threadIsmain, .procName, .procExe, .procExepath, .procCmdline, .procArgs, .procTty, .procIsExeUpperLayer, .procEnv, .procEnvVariable, .procStdinIsFifo, .procStdoutIsFifo:
            return .process
        case .procPexe, .procSid, .procVpgid, .procIsVpgidLeader, .procAexe, .procAexepath, .procPname, .procPexepath, .procPcmdline, .procAname, .procApid:
            return .ancestry
        case .userLoginuid, .userLoginname, .groupName, .userUid, .userName, .groupGid, .threadCapEffective, .threadCapPermitted, .threadCapInheritable:
            return .credentials
        case .fdSockfamily, .fdPort, .fdNamedInArgs, .fdWriter, .fdNameraw, .fdConnected, .fdLport, .fdRport, .fdLip, .fdRip, .fdName, .fdDirectory, .fdFilename, .fdTypechar, .fdType, .fdNameChanged, .fdSipName, .fdCipName, .fdRipName, .fdLipName, .fdIp, .fdNet, .fdSnet, .fdCnet, .fdRnet, .fdLnet, .fdSip, .fdSport, .fdCip, .fdCport, .fdL4proto, .fdNum, .fdProcfsTarget:
            return .fd
        case .containerId, .k8sPodUid, .k8sPodName, .k8sNsName, .k8sPodLabels, .k8sNsLabels, .containerName, .containerImageRepository, .containerImageTag, .k8sPodLabel, .containerPrivileged:
            return .container
        }
    }
}
