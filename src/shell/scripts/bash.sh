# The words of a command (past its name, and after each ':') are completed by isofish itself:
# `isofish [-a IMAGE]... [-m MOUNT]... --complete -- WORDS... PARTIAL` prints the candidates,
# and exits with status 1 when host file names complete the word too.
_isofish_line() {
    local line=${COMP_LINE:0:COMP_POINT} cur i w start=-1 words=() pass=()
    read -ra words <<< "$line"
    if [[ -z $line || $line == *[[:space:]] ]]; then
        cur=''
    else
        cur=${words[-1]}
        unset 'words[-1]'
    fi
    for (( i = 1; i < ${#words[@]}; i++ )); do
        w=${words[i]}
        if (( start < 0 )); then
            case $w in
                @PASSED@) pass+=("$w" "${words[i+1]}"); (( i++ )); continue ;;
                @PASSED_JOINED@) pass+=("$w"); continue ;;
                @VALUED@) (( i++ )); continue ;;
                --) start=$(( i + 1 )); continue ;;
                -*) continue ;;
            esac
            start=$i
        elif [[ $w == : ]]; then
            start=$(( i + 1 ))
        fi
    done
    if (( start < 0 )); then
        _isofish "$@"
        return
    fi
    local out st
    out=$("${words[0]/#\~/$HOME}" "${pass[@]}" --complete -- "${words[@]:start}" "$cur" 2>/dev/null)
    st=$?
    COMPREPLY=()
    [[ -n $out ]] && mapfile -t COMPREPLY <<< "$out"
    if (( st != 0 )); then
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
    elif (( ${#COMPREPLY[@]} == 0 )); then
        compopt +o default +o bashdefault 2>/dev/null
    fi
    compopt -o filenames 2>/dev/null
    if (( ${#COMPREPLY[@]} == 1 )) && [[ $COMPREPLY == */ || $COMPREPLY == *: ]]; then
        compopt -o nospace 2>/dev/null
    fi
    # Readline replaces only the text after the last ':' or '=' of the word.
    if [[ $cur == *[:=]* ]]; then
        local head=${cur%"${cur##*[:=]}"}
        COMPREPLY=("${COMPREPLY[@]#"$head"}")
    fi
}

