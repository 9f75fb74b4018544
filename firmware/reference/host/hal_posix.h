/* Settings of the POSIX host HAL (hal_posix.c), filled in by main.c from the command line. */
#ifndef IMPRINT_HAL_POSIX_H
#define IMPRINT_HAL_POSIX_H

struct hal_posix_settings {
    int uart_fd;             /* the PTY master, non-blocking */
    const char *otp_file;    /* emulated OTP: 64 bytes, 0xFF when erased */
    const char *config_file; /* emulated configuration area */
    unsigned program_ms;     /* time each OTP programming step takes */
};

void hal_posix_setup(const struct hal_posix_settings *s);

#endif
