XPORT_LIBS_kcp := -lJerasure -lgf_complete -lmbedcrypto -lsodium -lz
# <jerasure.h> includes "galois.h" from its own directory /usr/include/jerasure.
$(BUILD)/pobj/transports/kcp/fec.o $(BUILD)/obj/transports/kcp/fec.o: CFLAGS_ALL += -I/usr/include/jerasure
