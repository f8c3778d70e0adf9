# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_isofish_global_optspecs
    string join \n a/add= ro w/rw format= v/verbose m/mount= i/inspector f/file= tui serve= x complete man-page h/help V/version
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
complete -c isofish -n "__fish_isofish_needs_command" -l format -d 'The format of the images added after it (accepted for guestfish: images are read as they are); \'--format\' alone goes back to detecting it' -r -f -a "raw\t''
iso\t''
auto\t''"
complete -c isofish -n "__fish_isofish_needs_command" -s m -l mount -d 'Mount DEV at MOUNTPOINT (default /) with OPTIONS; repeatable. Without -m the first image\'s filesystem is mounted at /' -r
complete -c isofish -n "__fish_isofish_needs_command" -s f -l file -d 'Run the commands in SCRIPT (\'-\' for standard input)' -r -F
complete -c isofish -n "__fish_isofish_needs_command" -l serve -d 'After the commands (or the script), serve the image as a commit would write it over NBD until Ctrl-C, as the `serve` command does. WHERE is a Unix socket path, a port of 127.0.0.1, or ADDR:PORT; without it, port 10809 of 127.0.0.1' -r
complete -c isofish -n "__fish_isofish_needs_command" -l ro -d 'Read-only: no staged changes, no commit'
complete -c isofish -n "__fish_isofish_needs_command" -s w -l rw -d 'Read-write, the default (accepted for guestfish): changes may be staged and committed'
complete -c isofish -n "__fish_isofish_needs_command" -s v -l verbose -d 'Verbose: say on standard error what is opened and mounted, and what a commit writes'
complete -c isofish -n "__fish_isofish_needs_command" -s i -l inspector -d 'Inspect the first image: mount it at / and its live root image (casper, LiveOS, arch, live) at /live, when it has one (\'inspect\' tells what the disc is and how it boots)'
complete -c isofish -n "__fish_isofish_needs_command" -l tui -d 'Start in the browser pane (after running the commands given, if any)'
complete -c isofish -n "__fish_isofish_needs_command" -s x -d 'Echo each command to standard error before running it'
complete -c isofish -n "__fish_isofish_needs_command" -l complete -d 'For the completion scripts: print the words that complete the last of COMMAND... (the words of one command), reading paths from the -a images (see src/shell/completions.rs)'
complete -c isofish -n "__fish_isofish_needs_command" -l man-page -d 'Print the man page (roff): `isofish --man-page > completions/isofish.1`'
complete -c isofish -n "__fish_isofish_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c isofish -n "__fish_isofish_needs_command" -s V -l version -d 'Print version'
complete -c isofish -n "__fish_isofish_needs_command" -a "boot-add-efi" -d 'Make the image boot on UEFI too: add an EFI boot image (a FAT image file of the ISO) as a new El Torito entry, with the partition entry hybrid images give it.'
complete -c isofish -n "__fish_isofish_needs_command" -a "boot-extract" -d 'Write El Torito boot image N as the firmware loads it, or whole, to a host file or to standard output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "boot-info" -d 'Show what makes an image bootable: the El Torito catalog, the file each boot image is, and the system area (MBR, GPT, APM, partition offset, appended partitions).'
complete -c isofish -n "__fish_isofish_needs_command" -a "browse" -d 'Opens the browser pane: walk the session\'s tree with the arrow keys, preview files, enter nested images.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cat" -d 'Print a file\'s contents.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cd" -d 'Change the current directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "changes" -d 'List the changes staged in the session and not yet committed, like `git status`.'
complete -c isofish -n "__fish_isofish_needs_command" -a "checksum" -d 'Print the checksum of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "checksums-out" -d 'Write the checksum of every file below a directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "chmod" -d 'Change the permission bits of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "chown" -d 'Change the owner and group of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "clear" -d 'Clear the terminal\'s screen.'
complete -c isofish -n "__fish_isofish_needs_command" -a "commit" -d 'Write the staged changes as a new image: over the opened image, to a new file, or to standard output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "completions" -d 'Print the shell completion script for bash, zsh or fish.'
complete -c isofish -n "__fish_isofish_needs_command" -a "copy-in" -d 'Copy host files and directories into the session, recursively.'
complete -c isofish -n "__fish_isofish_needs_command" -a "copy-out" -d 'Copy files and directories out of the session, recursively, into a host directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cp" -d 'Copy a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cp-a" -d 'Copy a file or a directory recursively, keeping all its metadata.'
complete -c isofish -n "__fish_isofish_needs_command" -a "cp-r" -d 'Copy a file or a directory recursively.'
complete -c isofish -n "__fish_isofish_needs_command" -a "diff" -d 'Show the staged changes of files as unified diffs (text) or sizes (binary).'
complete -c isofish -n "__fish_isofish_needs_command" -a "download" -d 'Copy a file out of the session to a host file or to the output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "du" -d 'Print the space a file or directory tree occupies, in KiB.'
complete -c isofish -n "__fish_isofish_needs_command" -a "echo" -d 'Print the words, separated by single spaces.'
complete -c isofish -n "__fish_isofish_needs_command" -a "edit" -d 'Edit a file of the session with your editor.'
complete -c isofish -n "__fish_isofish_needs_command" -a "egrep" -d 'Print the lines of a file that match an extended regular expression.'
complete -c isofish -n "__fish_isofish_needs_command" -a "egrepi" -d 'Print the lines of a file that match an extended regular expression, ignoring case.'
complete -c isofish -n "__fish_isofish_needs_command" -a "exists" -d 'Print whether a path exists.'
complete -c isofish -n "__fish_isofish_needs_command" -a "fgrep" -d 'Print the lines of a file that match a fixed string.'
complete -c isofish -n "__fish_isofish_needs_command" -a "fgrepi" -d 'Print the lines of a file that match a fixed string, ignoring case.'
complete -c isofish -n "__fish_isofish_needs_command" -a "file" -d 'Say what kind of file a path is, in the words of `file -b`.'
complete -c isofish -n "__fish_isofish_needs_command" -a "find" -d 'List every file and directory below a directory, recursively.'
complete -c isofish -n "__fish_isofish_needs_command" -a "find0" -d 'List every file and directory below a directory, NUL-separated, into a host file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "getxattr" -d 'Print the value of one extended attribute of a file, following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "getxattrs" -d 'List the extended attributes of a file, following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "glob" -d 'Run a command once for every path that wildcards match.'
complete -c isofish -n "__fish_isofish_needs_command" -a "grep" -d 'Print the lines of a file that match a regular expression.'
complete -c isofish -n "__fish_isofish_needs_command" -a "grepi" -d 'Print the lines of a file that match a basic regular expression, ignoring case.'
complete -c isofish -n "__fish_isofish_needs_command" -a "head" -d 'Print the first 10 lines of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "head-n" -d 'Print the first N lines of a file, or all but the last -N.'
complete -c isofish -n "__fish_isofish_needs_command" -a "help" -d 'List the commands, or show one command\'s page.'
complete -c isofish -n "__fish_isofish_needs_command" -a "hexdump" -d 'Print a file in hexadecimal and ASCII, as `hexdump -C` does.'
complete -c isofish -n "__fish_isofish_needs_command" -a "info" -d 'Describe the filesystem on a device or in an image file, as `isoinfo -d` does.'
complete -c isofish -n "__fish_isofish_needs_command" -a "inspect" -d 'Tell what a disc is and how it boots, on one screen: the distribution, the architecture, the boot paths with their menus, the live root and the initrds.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-dir" -d 'Print whether a path is a directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-file" -d 'Print whether a path is a regular file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "is-symlink" -d 'Print whether a path is a symbolic link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lcd" -d 'Change the host working directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lgetxattr" -d 'Print the value of one extended attribute of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lgetxattrs" -d 'List the extended attributes of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-devices" -d 'List the drives of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-filesystems" -d 'List the devices and the filesystem each one holds.'
complete -c isofish -n "__fish_isofish_needs_command" -a "list-partitions" -d 'List the partitions of every drive, as devices (`/dev/sda1`, `/dev/sda2`...).'
complete -c isofish -n "__fish_isofish_needs_command" -a "ll" -d 'List a directory in the long format of `ls -la`.'
complete -c isofish -n "__fish_isofish_needs_command" -a "ln" -d 'Make a hard link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "ln-s" -d 'Make a symbolic link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "ls" -d 'List the names in a directory, one per line.'
complete -c isofish -n "__fish_isofish_needs_command" -a "lstat" -d 'Print the status of a file, not following a final symlink.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mkdir" -d 'Make a directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mkdir-p" -d 'Make a directory and any parents it lacks.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mkiso" -d 'Make a new ISO image from a host directory, bootable if asked, without writing anything but the image.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mkmountpoint" -d 'Make a mountpoint (does nothing: any path can be one).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount" -d 'Mount the filesystem on a device at a path of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-loop" -d 'Mount the image held in a file of a mounted filesystem (squashfs, ext2/3/4, FAT, cpio, tar, deb, RPM, ISO).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-loop-type" -d 'Mount the image held in a file as a given filesystem type, whatever the probe says.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-options" -d 'Mount the filesystem on a device with options.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mount-ro" -d 'Mount the filesystem on a device read-only (the same as `mount`).'
complete -c isofish -n "__fish_isofish_needs_command" -a "mountpoints" -d 'List the mounts as device and mountpoint pairs.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mounts" -d 'List the mounted filesystems.'
complete -c isofish -n "__fish_isofish_needs_command" -a "mv" -d 'Move or rename a file or directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "open" -d 'Add a disc image to the session as the next drive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "pwd" -d 'Print the current directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "quit" -d 'Leave the shell, or end a script here.'
complete -c isofish -n "__fish_isofish_needs_command" -a "quit!" -d 'Leave the shell, or end a script here, dropping the changes staged and not committed.'
complete -c isofish -n "__fish_isofish_needs_command" -a "readlink" -d 'Print the target of a symbolic link.'
complete -c isofish -n "__fish_isofish_needs_command" -a "resize-fat" -d 'Set the size a mounted FAT image is rebuilt to.'
complete -c isofish -n "__fish_isofish_needs_command" -a "revert" -d 'Drop the staged changes of paths, and of everything below them.'
complete -c isofish -n "__fish_isofish_needs_command" -a "revert-all" -d 'Drop every change staged in the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "rm" -d 'Remove a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "rm-f" -d 'Remove a file; no error when it does not exist.'
complete -c isofish -n "__fish_isofish_needs_command" -a "rm-rf" -d 'Remove a file or a directory with everything below it; no error when it does not exist.'
complete -c isofish -n "__fish_isofish_needs_command" -a "rmdir" -d 'Remove an empty directory.'
complete -c isofish -n "__fish_isofish_needs_command" -a "run" -d 'Start the session (does nothing: isofish needs no appliance).'
complete -c isofish -n "__fish_isofish_needs_command" -a "serve" -d 'Serve the image as a commit would write it over NBD, straight from memory and the original, until Ctrl-C.'
complete -c isofish -n "__fish_isofish_needs_command" -a "set-boot-file" -d 'Make an El Torito boot entry boot another file of the image.'
complete -c isofish -n "__fish_isofish_needs_command" -a "set-label" -d 'Set the volume label of a mounted filesystem.'
complete -c isofish -n "__fish_isofish_needs_command" -a "stat" -d 'Print the status of a file (following symlinks).'
complete -c isofish -n "__fish_isofish_needs_command" -a "tail" -d 'Print the last 10 lines of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tail-n" -d 'Print the last N lines of a file, or from line -N on.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tar-in" -d 'Unpack a tar archive into a directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tar-out" -d 'Write a directory tree as a tar archive to a host file or to the output.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tgz-in" -d 'Unpack a gzip-compressed tar archive into a directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "tgz-out" -d 'Write a directory tree as a gzip-compressed tar archive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "time" -d 'Run a command and print how long it took.'
complete -c isofish -n "__fish_isofish_needs_command" -a "touch" -d 'Make an empty file, or set an existing file\'s times to now.'
complete -c isofish -n "__fish_isofish_needs_command" -a "truncate" -d 'Cut a file to nothing.'
complete -c isofish -n "__fish_isofish_needs_command" -a "truncate-size" -d 'Make a file shorter or longer.'
complete -c isofish -n "__fish_isofish_needs_command" -a "txz-in" -d 'Unpack an xz-compressed tar archive into a directory of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "txz-out" -d 'Write a directory tree as an xz-compressed tar archive.'
complete -c isofish -n "__fish_isofish_needs_command" -a "umount" -d 'Unmount the filesystem mounted at a path.'
complete -c isofish -n "__fish_isofish_needs_command" -a "umount-all" -d 'Unmount every filesystem.'
complete -c isofish -n "__fish_isofish_needs_command" -a "upload" -d 'Stage a host file, or standard input, as a file of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "utimens" -d 'Set the access and modification times of a file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "verify" -d 'Check every checksum an image carries about itself: the implanted MD5, xorriso\'s MD5 tags, the El Torito, GPT and boot-info checksums.'
complete -c isofish -n "__fish_isofish_needs_command" -a "version" -d 'Print isofish\'s version.'
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-label" -d 'Print the label of the filesystem on a device or in an image file.'
complete -c isofish -n "__fish_isofish_needs_command" -a "vfs-type" -d 'Print the type of the filesystem on a device.'
complete -c isofish -n "__fish_isofish_needs_command" -a "write" -d 'Stage a file of the session with the given content.'
complete -c isofish -n "__fish_isofish_needs_command" -a "write-append" -d 'Add content at the end of a file of the session.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zegrep" -d 'Print the lines of a compressed file that match an extended regular expression.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zegrepi" -d 'Print the lines of a compressed file that match an extended regular expression, ignoring case.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zfgrep" -d 'Print the lines of a compressed file that match a fixed string.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zfgrepi" -d 'Print the lines of a compressed file that match a fixed string, ignoring case.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zgrep" -d 'Print the lines of a compressed file that match a basic regular expression.'
complete -c isofish -n "__fish_isofish_needs_command" -a "zgrepi" -d 'Print the lines of a compressed file that match a basic regular expression, ignoring case.'

# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
# __fish_isofish_scan prints where the command under the cursor starts (0: no command yet),
# then the options to pass on, one a line.
function __fish_isofish_scan
    set -l tokens (commandline -opc)
    set -l pass
    set -l start 0
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        if test $start -eq 0
            switch $w
                case '-a' '--add' '-m' '--mount'
                    set -a pass $w $tokens[(math $i + 1)]
                    set i (math $i + 1)
                case '--add=*' '--mount=*'
                    set -a pass $w
                case '-f' '--file'
                    set i (math $i + 1)
                case --
                    set start (math $i + 1)
                case '-*'
                case '*'
                    set start $i
            end
        else if test "$w" = :
            set start (math $i + 1)
        end
        set i (math $i + 1)
    end
    printf '%s\n' $start $pass
end

function __fish_isofish_in_command
    set -l scan (__fish_isofish_scan)
    test $scan[1] -gt 0
end

function __fish_isofish_words
    set -l scan (__fish_isofish_scan)
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l program $tokens[1]
    test $scan[1] -gt 0; or return
    $program $scan[2..-1] --complete -- $tokens[$scan[1]..-1] $current 2>/dev/null
    or __fish_complete_path $current
end

complete -c isofish -n "__fish_isofish_needs_command" -f
complete -c isofish -n "__fish_isofish_in_command" -f -a "(__fish_isofish_words)"
