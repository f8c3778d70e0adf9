# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_isofish_global_optspecs
    string join \n a/add= ro m/mount= f/file= tui x h/help V/version
end

function __fish_isofish_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_isofish_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_isofish_using_subcommand
    set -l cmd (__fish_isofish_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c isofish -n "__fish_isofish_needs_command" -s a -l add -d 'Add an image as the next drive (/dev/sda, /dev/sdb...); repeatable' -r -F
complete -c isofish -n "__fish_isofish_needs_command" -s m -l mount -d 'Mount DEV at MOUNTPOINT (default /) with OPTIONS; repeatable. Without -m the first image\'s filesystem is mounted at /' -r
complete -c isofish -n "__fish_isofish_needs_command" -s f -l file -d 'Run the commands in SCRIPT (\'-\' for standard input)' -r -F
complete -c isofish -n "__fish_isofish_needs_command" -l ro -d 'Read-only: no staged changes, no commit'
complete -c isofish -n "__fish_isofish_needs_command" -l tui -d 'Start in the browser pane (after running the commands given, if any)'
complete -c isofish -n "__fish_isofish_needs_command" -s x -d 'Echo each command to standard error before running it'
complete -c isofish -n "__fish_isofish_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c isofish -n "__fish_isofish_needs_command" -s V -l version -d 'Print version'
complete -c isofish -n "__fish_isofish_needs_command" -a "boot-extract" -d 'Write El Torito boot image N as the firmware loads it, or whole, to a host file or to standard output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "boot-info" -d 'Show what makes an image bootable: the El Torito catalog, the file each boot image is, and the system area (MBR, GPT, APM, partition offset, appended partitions).'
complete -c isofish -n "__fish_isofish_needs_command" -a "browse" -d 'Opens the browser pane: walk the session\'s tree with the arrow keys, preview files, enter nested images.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cat" -d 'Print a file\'s contents.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cd" -d 'Change the current directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "checksum" -d 'Print the checksum of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "checksums-out" -d 'Write the checksum of every file below a directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "completions" -d 'Print the shell completion script for bash, zsh or fish.'
complete -c isofish -n "__fish_isofish_needs_command" -a "copy-out" -d 'Copy files and directories out of the session, recursively, into a host directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "download" -d 'Copy a file out of the session to a host file or to the output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "du" -d 'Print the space a file or directory tree occupies, in KiB.'
complete -c isofish -n "__fish_isofish_needs_command" -a "echo" -d 'Print the words, separated by single spaces.'
complete -c isofish -n "__fish_isofish_needs_command" -a "exists" -d 'Print whether a path exists.'
complete -c isofish -n "__fish_isofish_needs_command" -a "file" -d 'Say what kind of file a path is, in the words of `file -b`.'
complete -c isofish -n "__fish_isofish_needs_command" -a "find" -d 'List every file and directory below a directory, recursively.'
complete -c isofish -n "__fish_isofish_needs_command" -a "find0" -d 'List every file and directory below a directory, NUL-separated, into a host file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "getxattr" -d 'Print the value of one extended attribute of a file, following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "getxattrs" -d 'List the extended attributes of a file, following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "glob" -d 'Run a command once for every path that wildcards match.'
complete -c isofish -n "__fish_isofish_needs_command" -a "grep" -d 'Print the lines of a file that match a regular expression.'
complete -c isofish -n "__fish_isofish_needs_command" -a "head" -d 'Print the first 10 lines of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "head-n" -d 'Print the first N lines of a file, or all but the last -N.'
complete -c isofish -n "__fish_isofish_needs_command" -a "help" -d 'List the commands, or show one command\'s page.'
complete -c isofish -n "__fish_isofish_needs_command" -a "hexdump" -d 'Print a file in hexadecimal and ASCII, as `hexdump -C` does.'
complete -c isofish -n "__fish_isofish_needs_command" -a "info" -d 'Describe the filesystem on a device, as `isoinfo -d` does.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-dir" -d 'Print whether a path is a directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-file" -d 'Print whether a path is a regular file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-symlink" -d 'Print whether a path is a symbolic link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lgetxattr" -d 'Print the value of one extended attribute of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lgetxattrs" -d 'List the extended attributes of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-devices" -d 'List the drives of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-filesystems" -d 'List the devices and the filesystem each one holds.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-partitions" -d 'List the partitions of every drive, as devices (`/dev/sda1`, `/dev/sda2`...).'
complete -c isofish -n "__fish_isofish_needs_command" -a "ll" -d 'List a directory in the long format of `ls -la`.'
complete -c isofish -n "__fish_isofish_needs_command" -a "ls" -d 'List the names in a directory, one per line.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lstat" -d 'Print the status of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mkmountpoint" -d 'Make a mountpoint (does nothing: any path can be one).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount" -d 'Mount the filesystem on a device at a path of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-loop" -d 'Mount the image held in a file of a mounted filesystem (squashfs, ext2/3/4, FAT, cpio initrd, ISO).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-loop-type" -d 'Mount the image held in a file as a given filesystem type, whatever the probe says.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-options" -d 'Mount the filesystem on a device with options.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-ro" -d 'Mount the filesystem on a device read-only (the same as `mount`).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mountpoints" -d 'List the mounts as device and mountpoint pairs.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mounts" -d 'List the mounted filesystems.'
complete -c isofish -n "__fish_isofish_needs_command" -a "open" -d 'Add a disc image to the session as the next drive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "pwd" -d 'Print the current directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "quit" -d 'Leave the shell, or end a script here.'
complete -c isofish -n "__fish_isofish_needs_command" -a "readlink" -d 'Print the target of a symbolic link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "run" -d 'Start the session (does nothing: isofish needs no appliance).'
complete -c isofish -n "__fish_isofish_needs_command" -a "stat" -d 'Print the status of a file (following symlinks).'
complete -c isofish -n "__fish_isofish_needs_command" -a "tail" -d 'Print the last 10 lines of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tail-n" -d 'Print the last N lines of a file, or from line -N on.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tar-out" -d 'Write a directory tree as a tar archive to a host file or to the output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tgz-out" -d 'Write a directory tree as a gzip-compressed tar archive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "txz-out" -d 'Write a directory tree as an xz-compressed tar archive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "umount" -d 'Unmount the filesystem mounted at a path.'
complete -c isofish -n "__fish_isofish_needs_command" -a "umount-all" -d 'Unmount every filesystem.'
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-label" -d 'Print the label of the filesystem on a device.'
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-type" -d 'Print the type of the filesystem on a device.'
complete -c isofish -n "__fish_isofish_using_subcommand boot-extract" -l whole -d 'the whole image, not only the part the firmware loads'
complete -c isofish -n "__fish_isofish_using_subcommand boot-info" -l as -d 'print the xorriso -as mkisofs options that rebuild the boot setup' -r -f -a "mkisofs\t''"
complete -c isofish -n "__fish_isofish_using_subcommand list-partitions" -s l -l long -d 'each partition\'s table, extent, type and name'
complete -c isofish -n "__fish_isofish_using_subcommand copy-out" -a "xdev:true" -d 'stay on the filesystem the walk starts on: leave out the mounts below it'
complete -c isofish -n "__fish_isofish_using_subcommand copy-out" -a "xdev:false" -d 'stay on the filesystem the walk starts on: leave out the mounts below it'
complete -c isofish -n "__fish_isofish_using_subcommand is-dir" -a "followsymlinks:true" -d 'look at what a symlink at PATH points to'
complete -c isofish -n "__fish_isofish_using_subcommand is-dir" -a "followsymlinks:false" -d 'look at what a symlink at PATH points to'
complete -c isofish -n "__fish_isofish_using_subcommand is-file" -a "followsymlinks:true" -d 'look at what a symlink at PATH points to'
complete -c isofish -n "__fish_isofish_using_subcommand is-file" -a "followsymlinks:false" -d 'look at what a symlink at PATH points to'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "compress:gzip" -d 'compress the archive'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "compress:xz" -d 'compress the archive'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "compress:zstd" -d 'compress the archive'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "compress:bzip2" -d 'compress the archive'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "excludes:" -d 'leave out the members matching these wildcard patterns'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "numericowner:true" -d 'accepted for guestfish: owners are always numeric'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "numericowner:false" -d 'accepted for guestfish: owners are always numeric'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "xattrs:true" -d 'add each member\'s extended attributes'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "xattrs:false" -d 'add each member\'s extended attributes'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "xdev:true" -d 'stay on the filesystem the walk starts on: leave out the mounts below it'
complete -c isofish -n "__fish_isofish_using_subcommand tar-out" -a "xdev:false" -d 'stay on the filesystem the walk starts on: leave out the mounts below it'
complete -c isofish -n "__fish_isofish_using_subcommand tgz-out" -a "excludes:" -d 'leave out the members matching these wildcard patterns'
complete -c isofish -n "__fish_isofish_using_subcommand txz-out" -a "excludes:" -d 'leave out the members matching these wildcard patterns'
